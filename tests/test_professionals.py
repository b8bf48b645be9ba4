"""Professionals: the name and trade rules, idempotent creates, lists and filters."""

from __future__ import annotations

import pytest

LIST = """
query($trade: String, $area: String, $networkId: ID, $first: Int, $after: String) {
  professionals(trade: $trade, area: $area, networkId: $networkId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id trades area } }
  }
}
"""


async def test_create_trims_and_normalises(make):
    payload = await make.ok("professional", name="  Bea  Builder ", area=" Old Town ",
                            trades=[" Kitchen   Fitting", "PLUMBING", "plumbing"])
    pro = payload["professional"]
    assert pro["name"] == "Bea  Builder"
    assert pro["trades"] == ["kitchen fitting", "plumbing"]
    assert pro["area"] == "Old Town"
    assert pro["id"].startswith("pro_")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"name": "   "}, ["input", "name"]),
        ({"name": "x" * 201}, ["input", "name"]),
        ({"trades": []}, ["input", "trades"]),
        ({"trades": [f"trade {i}" for i in range(11)]}, ["input", "trades"]),
        ({"trades": ["p"]}, ["input", "trades", "0"]),
        ({"trades": ["plumbing", "x" * 51]}, ["input", "trades", "1"]),
        ({"trades": ["plumb!ng"]}, ["input", "trades", "0"]),
        ({"trades": ["under_score"]}, ["input", "trades", "0"]),
        ({"area": "y" * 201}, ["input", "area"]),
        ({"id": "cus_wrongprefix"}, ["input", "id"]),
        ({"id": "pro_has space"}, ["input", "id"]),
    ],
)
async def test_bad_input_is_a_validation_error_and_writes_nothing(make, uid, exists, override,
                                                                  field):
    good_id = uid("pro")
    data = {"id": good_id, "name": "Pat", "trades": ["plumbing"], **override}
    payload = await make.call("professional", **data)
    assert payload["professional"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", field)]
    assert payload["errors"][0]["message"]
    if data["id"] == good_id:
        assert not await exists(good_id)


async def test_ten_trades_and_two_character_trades_are_allowed(make):
    trades = ["ab"] + [f"trade {i}" for i in range(9)]
    payload = await make.ok("professional", name="Many Trades", trades=trades)
    assert payload["professional"]["trades"] == trades


async def test_same_client_id_same_data_returns_the_existing_object(make, uid):
    pid = uid("pro")
    first = await make.ok("professional", id=pid, name="Pat", trades=["plumbing"])
    again = await make.ok("professional", id=pid, name=" Pat ", trades=["Plumbing"])
    assert again["professional"] == first["professional"]


async def test_same_client_id_different_data_is_a_conflict(make, uid):
    pid = uid("pro")
    await make.ok("professional", id=pid, name="Pat", trades=["plumbing"])
    payload = await make.call("professional", id=pid, name="Pat", trades=["roofing"])
    assert payload["professional"] is None
    assert payload["errors"][0]["code"] == "CONFLICT"
    assert payload["errors"][0]["field"] == ["input", "id"]


async def test_filters_by_trade_area_and_network(gql, make, uid):
    area = f"Area {uid('net')}"
    a = await make.professional(trades=["roofing"], area=area)
    b = await make.professional(trades=["painting", "Roofing"], area=area.upper())
    c = await make.professional(trades=["painting"], area=area)
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=b)
    await make.ok("add_member", networkId=net, professionalId=c)

    def ids(data):
        return [e["node"]["id"] for e in data["professionals"]["edges"]]

    roofing = await gql.data(LIST, {"trade": " ROOFING ", "area": area.lower()})
    assert ids(roofing) == sorted([a, b])
    assert roofing["professionals"]["totalCount"] == 2
    in_net = await gql.data(LIST, {"networkId": net, "trade": "painting"})
    assert ids(in_net) == sorted([b, c])
    assert ids(await gql.data(LIST, {"networkId": net, "trade": "roofing"})) == [b]


async def test_unknown_id_reads_as_null(gql, uid):
    data = await gql.data("query($id: ID!) { professional(id: $id) { id } }", {"id": uid("pro")})
    assert data["professional"] is None
