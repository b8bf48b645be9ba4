"""Networks and membership."""

from __future__ import annotations

import re
from pathlib import Path

from graph import bulk, membership, migrations
from graph.bulk import Dataset
from tests.conftest import mutation_text

MEMBERS = """
query($id: ID!, $after: String) {
  network(id: $id) { id name members(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id networks { id } } } }
}
"""


async def test_membership_round_trip(gql, make):
    net = await make.network(name=" Northside Circle ")
    pros = sorted([await make.professional() for _ in range(3)])
    for pro in pros:
        await make.ok("add_member", networkId=net, professionalId=pro)
    # Adding again is a no-op, not a second membership.
    again = await make.ok("add_member", networkId=net, professionalId=pros[0])
    assert again["network"]["members"]["totalCount"] == 3

    page = (await gql.data(MEMBERS, {"id": net}))["network"]
    assert page["name"] == "Northside Circle"
    assert [n["id"] for n in page["members"]["nodes"]] == pros[:2]
    assert page["members"]["nodes"][0]["networks"] == [{"id": net}]
    rest = await gql.data(MEMBERS, {"id": net, "after": page["members"]["pageInfo"]["endCursor"]})
    assert [n["id"] for n in rest["network"]["members"]["nodes"]] == pros[2:]

    removed = await make.ok("remove_member", networkId=net, professionalId=pros[1])
    assert {n["id"] for n in removed["network"]["members"]["nodes"]} == {pros[0], pros[2]}


async def test_membership_errors(make, uid):
    net = await make.network()
    pro = await make.professional()
    cases = [
        ("add_member", {"networkId": uid("net"), "professionalId": pro}, "NOT_FOUND",
         ["input", "networkId"]),
        ("add_member", {"networkId": net, "professionalId": uid("pro")}, "NOT_FOUND",
         ["input", "professionalId"]),
        ("add_member", {"networkId": pro, "professionalId": pro}, "VALIDATION",
         ["input", "networkId"]),
        ("remove_member", {"networkId": net, "professionalId": pro}, "NOT_FOUND",
         ["input", "professionalId"]),
    ]
    for kind, data, code, field in cases:
        payload = await make.call(kind, **data)
        assert payload["network"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], data


async def test_network_idempotent_create_and_conflict(make, uid):
    nid = uid("net")
    assert await make.network(id=nid, name="A") == nid
    assert await make.network(id=nid, name="A") == nid
    payload = await make.call("network", id=nid, name="B")
    assert payload["errors"][0]["code"] == "CONFLICT"
    blank = await make.call("network", name="")
    assert blank["errors"][0]["field"] == ["input", "name"]


async def test_networks_list(gql, make):
    nid = await make.network()
    data = await gql.data("{ networks(first: 100) { totalCount nodes { id } } }")
    assert data["networks"]["totalCount"] >= 1
    ids = [n["id"] for n in data["networks"]["nodes"]]
    assert ids == sorted(ids)
    assert nid in ids or data["networks"]["totalCount"] > 100


SINCE = "query($id: ID!) { network(id: $id) { invited { totalCount } members { nodes { id } } } }"
MEMBERSHIP_SINCE = """
MATCH (:Professional {id: $pro})-[m:MEMBER_OF]->(:Network {id: $net})
RETURN m.status AS status, m.since AS since
"""


async def test_a_loaded_membership_is_active_also_where_it_was_an_invitation(gql, as_, make,
                                                                             store):
    net, invited, member = await make.network(), await make.professional(), \
        await make.professional()
    organiser = as_("organiser", None, [net])
    invite = await organiser.data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": invited}})
    assert invite["addNetworkMember"]["errors"] == []
    await make.ok("add_member", networkId=net, professionalId=member)
    before = await store.read(MEMBERSHIP_SINCE, pro=member, net=net)
    at = "2025-03-01T00:00:00.000000+00:00"
    await bulk.load(store, Dataset(memberships=[
        {"professionalId": p, "networkId": net, "since": at} for p in (invited, member)]))
    data = (await gql.data(SINCE, {"id": net}))["network"]
    assert data["invited"]["totalCount"] == 0
    assert {n["id"] for n in data["members"]["nodes"]} == {invited, member}
    assert await store.read(MEMBERSHIP_SINCE, pro=invited, net=net) == [
        {"status": "ACTIVE", "since": at}]
    # An existing membership keeps its own date.
    assert await store.read(MEMBERSHIP_SINCE, pro=member, net=net) == before


MEMBERSHIP_WITHOUT_STATUS = """
MATCH (p:Professional {id: $pro}), (n:Network {id: $net})
CREATE (p)-[:MEMBER_OF {since: '2025-01-01T00:00:00.000000+00:00'}]->(n)
"""
ACCEPT = """mutation($id: ID!) { acceptNetworkInvitation(networkId: $id) {
  network { id } errors { code message } } }"""


async def test_a_membership_without_a_status_is_no_membership_anywhere(gql, as_, make, store):
    """Member lists ignore it, and so do the membership mutations: there is nothing to accept,
    and an admin's addition makes it an active membership."""
    net, pro = await make.network(), await make.professional()
    await store.run_write(MEMBERSHIP_WITHOUT_STATUS, pro=pro, net=net)
    assert (await gql.data(SINCE, {"id": net}))["network"]["members"]["nodes"] == []
    accepted = (await as_("professional", pro).data(ACCEPT, {"id": net}))
    assert accepted["acceptNetworkInvitation"]["errors"][0]["code"] == "NOT_FOUND"
    await make.ok("add_member", networkId=net, professionalId=pro)
    assert (await gql.data(SINCE, {"id": net}))["network"]["members"]["nodes"] == [{"id": pro}]
    rows = await store.read(MEMBERSHIP_SINCE, pro=pro, net=net)
    assert [r["status"] for r in rows] == ["ACTIVE"]


async def test_old_memberships_are_migrated_in_batches_of_the_migration_size(store, make,
                                                                            monkeypatch):
    net = await make.network()
    pros = [await make.professional() for _ in range(5)]
    for pro in pros:
        await store.run_write(MEMBERSHIP_WITHOUT_STATUS, pro=pro, net=net)
    monkeypatch.setattr(migrations, "BATCH", 2)
    before = store.round_trips
    assert await migrations.migrate_memberships(store) >= 5
    assert store.round_trips - before >= 3  # 2 + 2 + 1: batches of migrations.BATCH
    for pro in pros:
        assert await store.read(MEMBERSHIP_SINCE, pro=pro, net=net) == [
            {"status": "ACTIVE", "since": "2025-01-01T00:00:00.000000+00:00"}]


def test_the_active_membership_pattern_is_written_once():
    """Every query recognises a member by graph.membership.MEMBER; a copy of the literal
    could drift from the rule."""
    graph = Path(__file__).resolve().parent.parent / "graph"
    copies = [p.name for p in sorted(graph.rglob("*.py"))
              if p.name != "membership.py" and re.search(r"MEMBER_OF \{status:", p.read_text())]
    assert copies == []
    assert membership.MEMBER == "MEMBER_OF {status: 'ACTIVE'}"
