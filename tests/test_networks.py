"""Networks and membership."""

from __future__ import annotations

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
