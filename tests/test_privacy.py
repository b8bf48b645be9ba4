"""No data through side channels: re-used ids, existence probes, invitations and erasure."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from graph import customers, migrations, professionals, referrals
from graph.embedded import EmbeddedServer
from graph.store import connect
from schema.build import build_schema as build_served
from tests.conftest import GraphQLClient, mutation_text

ID_TAKEN = "id is taken"
DELETE = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PATHS = "query($from: ID!, $to: ID!) { trustPaths(from: $from, to: $to) { trust } }"
ME = "query($id: ID!) { customer(id: $id) { id name } }"
STATUS = """mutation($input: UpdateReferralStatusInput!) { updateReferralStatus(input: $input) {
  referral { id } errors { code message field } } }"""
ACCEPT = """mutation($id: ID!) { acceptNetworkInvitation(networkId: $id) {
  network { id members { totalCount nodes { id } } } errors { code message field } } }"""
INVITED = """query($id: ID!) { network(id: $id) {
  invited { totalCount nodes { id name } } members { totalCount nodes { id } } } }"""
BALANCE = "query($id: ID!) { professional(id: $id) { reciprocity { given received } } }"
TREND = "query($id: ID!) { professional(id: $id) { reciprocityTrend(months: 2) { month } } }"
PROFILE = "query($id: ID!) { professional(id: $id) { id networks { id } } }"
NETWORK_FIGURES = """query($id: ID!) { network(id: $id) {
  reciprocity { referrals givers(limit: 10) { professional { id } } }
  imbalancedPairs(minGap: 1) { a { id } b { id } }
  gaps { passiveMembers { id } } } }"""
IN_NETWORK = """query($net: ID!) { professionals(networkId: $net) { nodes { id } } }"""


async def erase(gql: GraphQLClient, customer_id: str) -> None:
    body = await gql.data(DELETE, {"id": customer_id})
    assert body["deleteCustomer"]["deletedId"] == customer_id


def first_error(payload: dict) -> dict:
    assert payload["errors"], payload
    return payload["errors"][0]


# ---------------------------------------------------------------- CONFLICT on a re-used id


async def test_a_reused_referral_id_names_fields_only_to_its_parties(as_, make, uid):
    alice, bob = await make.customer(), await make.customer()
    pro, other = await make.professional(), await make.professional()
    rid = uid("ref")
    await make.referral(pro, other, alice, id=rid, note="secret note about alice")
    # The referrer may read it: the conflict says what differs.
    mine = await as_("professional", pro).data(mutation_text("referral"), {"input": {
        "id": rid, "referrerId": pro, "professionalId": other, "refereeId": alice,
        "note": "changed"}})
    error = first_error(mine["createReferral"])
    assert error["code"] == "CONFLICT" and "note" in error["message"]
    # So may the named professional (a party to it).
    named = await as_("professional", other).data(mutation_text("referral"), {"input": {
        "id": rid, "referrerId": other, "professionalId": pro, "refereeId": bob}})
    assert "referrerId" in first_error(named["createReferral"])["message"]
    # A professional that is no party, guessing the id, learns only that it is taken.
    guesser = await make.professional()
    theirs = await as_("professional", guesser).data(mutation_text("referral"), {"input": {
        "id": rid, "referrerId": guesser, "professionalId": pro, "refereeId": bob}})
    error = first_error(theirs["createReferral"])
    assert error == {"code": "CONFLICT", "message": ID_TAKEN, "field": ["input", "id"]}
    assert theirs["createReferral"]["referral"] is None
    # The customer referee guessing it: the same words.
    referee = await as_("customer", bob).data(mutation_text("referral"), {"input": {
        "id": rid, "referrerId": bob, "professionalId": pro, "refereeId": alice}})
    assert first_error(referee["createReferral"])["message"] == ID_TAKEN


async def test_a_reused_job_id_names_fields_only_to_its_parties(as_, make, uid):
    alice, bob = await make.customer(), await make.customer()
    pro, other = await make.professional(), await make.professional()
    jid = uid("job")
    await make.job(alice, pro, id=jid, rating=2, value=900.0)
    when = "2026-01-10T10:00:00+00:00"
    mine = await as_("professional", pro).data(mutation_text("job"), {"input": {
        "id": jid, "customerId": alice, "professionalId": pro, "completedAt": when,
        "rating": 5, "value": 900.0}})
    error = first_error(mine["recordJob"])
    assert error["code"] == "CONFLICT" and "rating" in error["message"]
    theirs = await as_("professional", other).data(mutation_text("job"), {"input": {
        "id": jid, "customerId": bob, "professionalId": other, "completedAt": when}})
    error = first_error(theirs["recordJob"])
    assert error == {"code": "CONFLICT", "message": ID_TAKEN, "field": ["input", "id"]}
    for text in (alice, "900", "rating", "customer"):
        assert text not in error["message"]


async def test_reused_base_object_ids(as_, gql, make, uid):
    cid, pid, nid = uid("cus"), uid("pro"), uid("net")
    await make.customer(id=cid, name="Carol Lane")
    await make.professional(id=pid, trades=["plumbing"])
    await make.network(id=nid, name="North Circle")
    # Admins create these and may read them: the conflict names what differs.
    for kind, payload, differing in [
        ("customer", {"id": cid, "name": "Carla Lane"}, "name"),
        ("professional", {"id": pid, "name": "Pat Plumber", "trades": ["roofing"]}, "trades"),
        ("network", {"id": nid, "name": "South Circle"}, "name"),
    ]:
        error = first_error(await make.call(kind, **payload))
        assert error["code"] == "CONFLICT" and differing in error["message"], kind
        # Anyone else is refused before the id is looked at, in words that name nothing.
        body = await as_("professional", pid).data(mutation_text(kind), {"input": payload})
        refused = first_error(next(iter(body.values())))
        assert refused["code"] == "FORBIDDEN" and differing not in refused["message"]


async def test_an_erased_customers_id_cannot_be_created_again(gql, make, uid):
    cid = uid("cus")
    await make.customer(id=cid, name="Erin Gone", area="Hilltop")
    await erase(gql, cid)
    # Not with its old data, not with other data, not with the tombstone's own.
    for payload in ({"name": "Erin Gone", "area": "Hilltop"}, {"name": "Someone Else"},
                    {"name": customers.ERASED_NAME}):
        body = await make.call("customer", id=cid, **payload)
        assert body["customer"] is None
        assert body["errors"] == [{"code": "CONFLICT", "message": ID_TAKEN,
                                   "field": ["input", "id"]}]
    # A fresh id is still fine.
    assert (await make.call("customer", id=uid("cus"), name="Erin Gone"))["errors"] == []


# ---------------------------------------------------------------- existence is not learnable


async def test_trust_paths_to_unknown_erased_and_unreadable_customers_read_alike(
    as_, gql, make, uid
):
    me, stranger, gone = await make.customer(), await make.customer(), await make.customer()
    pro = await make.professional()
    await make.job(me, pro, rating=5)
    await make.referral(me, pro, stranger)  # a path to the stranger exists
    await make.referral(me, pro, gone)
    await erase(gql, gone)
    client = as_("customer", me)
    bodies = [await client.post(PATHS, {"from": me, "to": target})
              for target in (uid("cus"), gone, stranger)]
    assert bodies[0]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert bodies[0] == bodies[1] == bodies[2]
    # A professional target (public profiles) still works for the customer.
    assert "errors" not in await client.post(PATHS, {"from": me, "to": pro})
    # A professional reads the customers who hired it, and traces to them.
    hired = await as_("professional", pro).post(PATHS, {"from": pro, "to": me})
    assert "errors" not in hired


async def test_node_by_id_reads_alike_for_unknown_erased_and_unreadable(as_, gql, make, uid):
    me, stranger, gone = await make.customer(), await make.customer(), await make.customer()
    pro, other = await make.professional(), await make.professional()
    await erase(gql, gone)
    theirs = await make.job(stranger, other)
    client = as_("customer", me)
    customer_bodies = [await client.post(NODE, {"id": i}) for i in (uid("cus"), gone, stranger)]
    assert customer_bodies[0]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert customer_bodies[0] == customer_bodies[1] == customer_bodies[2]
    job_bodies = [await as_("professional", pro).post(NODE, {"id": i})
                  for i in (uid("job"), theirs)]
    assert job_bodies[0] == job_bodies[1]
    assert job_bodies[0]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    their_referral = await make.referral(stranger, other, await make.customer())
    their_network = await make.network()
    for unknown, unreadable in ((uid("ref"), their_referral), (uid("net"), their_network)):
        bodies = [await client.post(NODE, {"id": i}) for i in (unknown, unreadable)]
        assert bodies[0] == bodies[1], unknown
        assert bodies[0]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The good case: one's own objects read.
    assert (await client.data(NODE, {"id": me}))["node"] == {"id": me}


async def test_creates_naming_unknown_or_erased_customers_fail_alike(as_, gql, make, uid):
    alice, gone = await make.customer(), await make.customer()
    pro, other = await make.professional(), await make.professional()
    await erase(gql, gone)
    recorder = as_("professional", pro)
    job_errors = []
    for customer in (uid("cus"), gone):
        body = await recorder.data(mutation_text("job"), {"input": {
            "customerId": customer, "professionalId": pro,
            "completedAt": "2026-01-10T10:00:00+00:00"}})
        assert body["recordJob"]["job"] is None
        job_errors.append(body["recordJob"]["errors"])
    assert job_errors[0] == job_errors[1]
    assert job_errors[0][0]["code"] == "NOT_FOUND"
    referral_errors = []
    for referee in (uid("cus"), gone):
        body = await as_("customer", alice).data(mutation_text("referral"), {"input": {
            "referrerId": alice, "professionalId": pro, "refereeId": referee,
            "note": "a note about them"}})
        assert body["createReferral"]["referral"] is None
        referral_errors.append(body["createReferral"]["errors"])
    assert referral_errors[0] == referral_errors[1]
    assert referral_errors[0][0]["code"] == "NOT_FOUND"
    # The erased customer as referrer (an admin names it) is no party either.
    body = await make.call("referral", referrerId=gone, professionalId=pro, refereeId=alice)
    assert body["errors"][0]["code"] == "NOT_FOUND"
    # Good case: a live customer is a party.
    await make.job(alice, other)


async def test_converting_into_an_unreadable_job_reads_like_an_unknown_one(as_, make, uid):
    referrer, referee = await make.customer(), await make.customer()
    pro, other = await make.professional(), await make.professional()
    rid = await make.referral(referrer, pro, referee)
    await make.status(rid, "ACCEPTED")
    theirs = await make.job(referee, other)
    client = as_("professional", pro)
    bodies = []
    for job_id in (uid("job"), theirs):
        body = await client.data(STATUS, {"input": {"id": rid, "status": "CONVERTED",
                                                    "jobId": job_id}})
        bodies.append(body["updateReferralStatus"])
    assert bodies[0] == bodies[1]
    assert bodies[0]["errors"][0]["code"] == "NOT_FOUND"
    mine = await make.job(referee, pro)
    done = await client.data(STATUS, {"input": {"id": rid, "status": "CONVERTED",
                                                "jobId": mine}})
    assert done["updateReferralStatus"]["errors"] == []


# ---------------------------------------------------------------- invitations


@pytest.fixture
async def circle(make):
    """A network with two active members who refer each other, and a professional outside."""
    a = await make.professional(trades=["plumbing"])
    b = await make.professional(trades=["roofing"])
    outsider = await make.professional(trades=["tiling"])
    customer = await make.customer()
    net = await make.network()
    for pro in (a, b):
        await make.ok("add_member", networkId=net, professionalId=pro)
    await make.referral(a, b, customer)
    # The outsider trades referrals with a member: once it is a member, these count.
    await make.referral(outsider, a, customer)
    await make.referral(a, outsider, await make.customer())
    await make.referral(outsider, b, await make.customer())
    return {"a": a, "b": b, "outsider": outsider, "net": net}


async def test_an_organiser_invites_and_reads_nothing_until_accepted(as_, circle):
    net, outsider = circle["net"], circle["outsider"]
    organiser = as_("organiser", None, [net])
    added = await organiser.data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": outsider}})
    assert added["addNetworkMember"]["errors"] == []
    data = (await organiser.data(INVITED, {"id": net}))["network"]
    assert [p["id"] for p in data["invited"]["nodes"]] == [outsider]
    assert outsider not in [p["id"] for p in data["members"]["nodes"]]
    # Nothing beyond the public profile: no reciprocity, and it counts nowhere.
    for query in (BALANCE, TREND):
        refused = await organiser.post(query, {"id": outsider})
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    profile = (await organiser.data(PROFILE, {"id": outsider}))["professional"]
    assert profile == {"id": outsider, "networks": []}
    figures = (await organiser.data(NETWORK_FIGURES, {"id": net}))["network"]
    assert figures["reciprocity"]["referrals"] == 1
    everyone = {p["professional"]["id"] for p in figures["reciprocity"]["givers"]}
    assert outsider not in everyone
    assert all(outsider not in (p["a"]["id"], p["b"]["id"]) for p in figures["imbalancedPairs"])
    assert outsider not in [p["id"] for p in figures["gaps"]["passiveMembers"]]
    listed = await organiser.data(IN_NETWORK, {"net": net})
    assert outsider not in [p["id"] for p in listed["professionals"]["nodes"]]
    invitee = as_("professional", outsider)
    assert (await invitee.post(NODE, {"id": net}))["errors"][0]["extensions"]["code"] == \
        "FORBIDDEN"
    # It accepts: now a member, counted, and its balance is the organiser's to read.
    accepted = (await invitee.data(ACCEPT, {"id": net}))["acceptNetworkInvitation"]
    assert accepted["errors"] == []
    assert outsider in [p["id"] for p in accepted["network"]["members"]["nodes"]]
    data = (await organiser.data(INVITED, {"id": net}))["network"]
    assert data["invited"]["totalCount"] == 0 and data["members"]["totalCount"] == 3
    assert (await organiser.data(BALANCE, {"id": outsider}))["professional"]["reciprocity"] == {
        "given": 2, "received": 1}
    figures = (await organiser.data(NETWORK_FIGURES, {"id": net}))["network"]
    assert figures["reciprocity"]["referrals"] == 4
    assert "errors" not in await organiser.post(TREND, {"id": outsider})
    profile = (await organiser.data(PROFILE, {"id": outsider}))["professional"]
    assert profile["networks"] == [{"id": net}]
    # Accepting again changes nothing.
    again = (await invitee.data(ACCEPT, {"id": net}))["acceptNetworkInvitation"]
    assert again["errors"] == [] and again["network"]["members"]["totalCount"] == 3


async def test_an_admin_adds_at_once(gql, make, circle):
    net, outsider = circle["net"], circle["outsider"]
    await make.ok("add_member", networkId=net, professionalId=outsider)
    data = (await gql.data(INVITED, {"id": net}))["network"]
    assert data["invited"]["totalCount"] == 0
    assert outsider in [p["id"] for p in data["members"]["nodes"]]


async def test_an_admin_adding_an_invited_professional_activates_it(as_, gql, make, circle):
    net, outsider = circle["net"], circle["outsider"]
    await as_("organiser", None, [net]).data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": outsider}})
    await make.ok("add_member", networkId=net, professionalId=outsider)
    data = (await gql.data(INVITED, {"id": net}))["network"]
    assert data["invited"]["totalCount"] == 0 and data["members"]["totalCount"] == 3


async def test_accept_network_invitation_rows(as_, make, circle, uid):
    net, outsider, a = circle["net"], circle["outsider"], circle["a"]
    await as_("organiser", None, [net]).data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": outsider}})
    # Refused: everyone but the invited professional itself.
    customer = await make.customer()
    for client in (as_("admin"), as_("organiser", None, [net]), as_("customer", customer)):
        body = (await client.data(ACCEPT, {"id": net}))["acceptNetworkInvitation"]
        assert body["network"] is None
        assert body["errors"][0]["code"] == "FORBIDDEN"
    # A professional without an invitation: an unknown network reads the same.
    stranger = await make.professional()
    bodies = [(await as_("professional", stranger).data(ACCEPT, {"id": n}))
              ["acceptNetworkInvitation"] for n in (net, uid("net"))]
    assert bodies[0] == bodies[1] and bodies[0]["errors"][0]["code"] == "NOT_FOUND"
    # A member accepting is a no-op; the invitee accepts.
    member = (await as_("professional", a).data(ACCEPT, {"id": net}))["acceptNetworkInvitation"]
    assert member["errors"] == []
    body = (await as_("professional", outsider).data(ACCEPT, {"id": net}))
    assert body["acceptNetworkInvitation"]["errors"] == []


async def test_network_invited_rows(as_, make, circle):
    net, outsider, a = circle["net"], circle["outsider"], circle["a"]
    await as_("organiser", None, [net]).data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": outsider}})
    for client in (as_("admin"), as_("organiser", None, [net])):
        data = await client.data(INVITED, {"id": net})
        assert [p["id"] for p in data["network"]["invited"]["nodes"]] == [outsider]
    other_net = await make.network()
    customer = await make.customer()
    query = "query($id: ID!) { network(id: $id) { id invited { totalCount } } }"
    for client in (as_("organiser", None, [other_net]), as_("professional", a),
                   as_("professional", outsider), as_("customer", customer)):
        body = await client.post(query, {"id": net})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


LEAVE = """mutation($input: NetworkMemberInput!) { removeNetworkMember(input: $input) {
  network { id } errors { code message field } } }"""


async def test_a_professional_leaves_or_declines_itself(as_, gql, make, circle, uid):
    net, outsider, a, b = circle["net"], circle["outsider"], circle["a"], circle["b"]
    remove = LEAVE
    # Someone else's membership is not another professional's to end.
    body = await as_("professional", b).data(remove, {"input": {
        "networkId": net, "professionalId": a}})
    assert body["removeNetworkMember"]["errors"][0]["code"] == "FORBIDDEN"
    left = await as_("professional", a).data(remove, {"input": {
        "networkId": net, "professionalId": a}})
    assert left["removeNetworkMember"]["errors"] == []
    members = (await gql.data(INVITED, {"id": net}))["network"]["members"]["nodes"]
    assert members == [{"id": b}]
    await as_("organiser", None, [net]).data(mutation_text("add_member"), {"input": {
        "networkId": net, "professionalId": outsider}})
    declined = await as_("professional", outsider).data(remove, {"input": {
        "networkId": net, "professionalId": outsider}})
    assert declined["removeNetworkMember"]["errors"] == []
    assert (await gql.data(INVITED, {"id": net}))["network"]["invited"]["totalCount"] == 0
    # Leaving a network one is not in: an unknown network reads the same.
    bodies = [(await as_("professional", a).data(remove, {"input": {
        "networkId": n, "professionalId": a}}))["removeNetworkMember"]
        for n in (net, uid("net"))]
    assert bodies[0] == bodies[1] and bodies[0]["errors"][0]["code"] == "NOT_FOUND"


MEMBERSHIP_WITHOUT_STATUS = """
MATCH (p:Professional {id: $pro}), (n:Network {id: $net})
CREATE (p)-[:MEMBER_OF {since: $since}]->(n)
"""


async def test_migrate_memberships_makes_old_memberships_active(gql, make, store):
    pro, net = await make.professional(), await make.network()
    await store.run_write(MEMBERSHIP_WITHOUT_STATUS, pro=pro, net=net,
                          since="2025-01-01T00:00:00.000000+00:00")
    before = (await gql.data(INVITED, {"id": net}))["network"]["members"]["totalCount"]
    assert before == 0  # a membership without a status counts nowhere
    assert await migrations.migrate_memberships(store) >= 1
    after = (await gql.data(INVITED, {"id": net}))["network"]["members"]["nodes"]
    assert after == [{"id": pro}]
    assert await migrations.migrate_memberships(store) == 0


# ---------------------------------------------------------------- erasure


async def test_an_erased_customers_token_no_longer_acts(as_, gql, make, app, store, settings):
    alice, bob = await make.customer(), await make.customer()
    client = as_("customer", alice)
    assert (await client.data(ME, {"id": alice}))["customer"]["id"] == alice
    await erase(gql, alice)
    refused = await client.raw(ME, {"id": alice})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Another service process (a fresh app: nothing remembered) refuses it too.
    other = create_app(settings, store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other),
                                 base_url="http://test") as http:
        fresh = await GraphQLClient(http, client.token).raw(ME, {"id": alice})
    assert fresh.status_code == 401
    # Others are unaffected.
    assert (await as_("customer", bob).data(ME, {"id": bob}))["customer"]["id"] == bob


async def test_a_customer_not_erased_is_asked_about_once_a_second(as_, make, store, monkeypatch):
    from app import erasure

    monkeypatch.setattr(erasure, "CLEAR_FOR", 3600.0)  # no second may pass between requests
    alice = await make.customer()
    client = as_("customer", alice)
    trips = []
    for _ in range(3):
        start = store.round_trips
        assert (await client.data(ME, {"id": alice}))["customer"]["id"] == alice
        trips.append(store.round_trips - start)
    # The first request looked the customer up; the others took the answer it left.
    assert trips[0] == trips[1] + 1 == trips[2] + 1


def _app_client(app, token: str) -> tuple[httpx.AsyncClient, GraphQLClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    return http, GraphQLClient(http, token)


async def test_an_erasure_in_one_worker_reaches_a_token_another_has_just_let_in(
        as_, make, bolt, settings, tmp_path, monkeypatch):
    from app import erasure

    monkeypatch.setattr(erasure, "CLEAR_FOR", 3600.0)
    alice = await make.customer()
    token = as_("customer", alice).token
    admin = as_("admin", "admin:t").token
    # Two workers of one serve: a store (driver) each, one shared folder.
    from app import shared

    shared.prepare(tmp_path)
    stores = [connect(bolt.uri, bolt.user, bolt.password, bolt.database) for _ in range(2)]
    workers = [create_app(settings, store=s, shared_dir=tmp_path) for s in stores]
    clients = [_app_client(w, token) for w in workers]
    http, erasing = _app_client(workers[0], admin)
    try:
        for _, client in clients:  # each worker now remembers alice as not erased
            assert (await client.data(ME, {"id": alice}))["customer"]["id"] == alice
        assert (await erasing.data(DELETE, {"id": alice}))["deleteCustomer"]["deletedId"] == alice
        for _, client in clients:
            refused = await client.raw(ME, {"id": alice})
            assert refused.status_code == 401, refused.text
    finally:
        for h, _ in [*clients, (http, None)]:
            await h.aclose()
        for s in stores:
            await s.close()


async def test_an_erasure_outside_the_serve_reaches_a_token_within_a_second(
        as_, make, bolt, settings, monkeypatch):
    from app import erasure

    monkeypatch.setattr(erasure, "CLEAR_FOR", 0.3)
    alice = await make.customer()
    client = as_("customer", alice)
    assert (await client.data(ME, {"id": alice}))["customer"]["id"] == alice
    # Another service (its own app, no shared folder) erases her; this one learns it by
    # asking the store again once its answer is older than CLEAR_FOR.
    own = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
    http, elsewhere = _app_client(create_app(settings, store=own), as_("admin", "admin:t").token)
    try:
        assert (await elsewhere.data(DELETE, {"id": alice}))["deleteCustomer"]["deletedId"] == alice
    finally:
        await http.aclose()
        await own.close()
    await asyncio.sleep(0.4)
    refused = await client.raw(ME, {"id": alice})
    assert refused.status_code == 401, refused.text


def _holding(folder: Path, needle: bytes) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(folder)))
            except OSError:
                pass  # a WAL file being dropped right now
    return found


async def test_erased_personal_data_leaves_the_embedded_store_within_60_s(tmp_path):
    folder = tmp_path / "store"
    server = EmbeddedServer(folder)
    address = await asyncio.to_thread(server.start)
    store = connect(address.uri, address.user, address.password, address.database)
    try:
        await store.ensure_schema()
        # A record longer than the tombstone's and one shorter (the erasure grows it).
        private = [(f"Quentin {uuid.uuid4().hex[:12]}", f"Area{uuid.uuid4().hex[:12]}"),
                   (f"Q{uuid.uuid4().hex[:5]}", f"A{uuid.uuid4().hex[:4]}")]
        ids = []
        for name, area in private:
            created = await customers.create_customer(store, customers.NewCustomer(name, area))
            ids.append(created.id)
        # A note about the first customer, in a referral it made: free text about it, erased too.
        pro = await professionals.create_professional(
            store, professionals.NewProfessional(name="Pat Plumber", trades=["plumbing"]))
        note = f"Note{uuid.uuid4().hex[:12]}"
        await referrals.create_referral(store, referrals.NewReferral(
            referrer_id=ids[0], professional_id=pro.id, referee_id=ids[1], note=note))
        # The grep sees what is there: the new customers are on disk.
        assert all(_holding(folder, name.encode()) for name, _ in private)
        for customer_id in ids:
            await customers.erase_customer(store, customer_id)
        needles = [text.encode() for pair in private for text in pair] + [note.encode()]
        deadline = time.monotonic() + 60
        while any(_holding(folder, n) for n in needles) and time.monotonic() < deadline:
            await asyncio.sleep(1)
        assert {n.decode(): _holding(folder, n) for n in needles} == {
            n.decode(): [] for n in needles}
        # The store still works, with its tombstones.
        found = await customers.customers_by_ids(store, ids)
        assert [c.name for c in found if c is not None] == [customers.ERASED_NAME] * 2
    finally:
        await store.close()
        await asyncio.to_thread(server.stop)


def test_the_invitation_part_of_the_contract_is_served():
    schema = build_served(Settings())._schema
    assert list(schema.type_map["MembershipStatus"].values) == ["INVITED", "ACTIVE"]
    invited = schema.type_map["Network"].fields["invited"]
    assert str(invited.type) == "ProfessionalConnection!"
    assert {name: (str(a.type), a.default_value) for name, a in invited.args.items()} == {
        "first": ("Int", 50), "after": ("String", None)}
    accept = schema.mutation_type.fields["acceptNetworkInvitation"]
    assert str(accept.type) == "NetworkPayload!"
    assert {name: str(a.type) for name, a in accept.args.items()} == {"networkId": "ID!"}
