"""Reward programs: creating, ending and reading them; every rule and every access row."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from graph.programs import UNIT_DECIMALS

PROGRAM = """id name trigger referrerAmount refereeAmount referrerRate unit
  tiers { fromCount referrerAmount } monthlyCapPerReferrer verifiedOnly startsAt endsAt endedAt
  active owner { __typename ... on Professional { id } ... on Network { id } }"""
CREATE = f"""mutation($input: CreateRewardProgramInput!) {{
  createRewardProgram(input: $input) {{ program {{ {PROGRAM} }} errors {{ code message field }} }}
}}"""
END = f"""mutation($id: ID!) {{
  endRewardProgram(id: $id) {{ program {{ {PROGRAM} }} errors {{ code message field }} }}
}}"""
OF_PROFESSIONAL = "query($id: ID!) { professional(id: $id) { rewardPrograms { id active } } }"
OF_NETWORK = "query($id: ID!) { network(id: $id) { rewardPrograms { id active } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on RewardProgram { name unit endedAt } } }"
# Stored amounts, read straight from the store: integer minor units.
STORED = "MATCH (p:RewardProgram {id: $id}) RETURN p.referrerAmount AS r, p.refereeAmount AS e"


def program_input(owner: str, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"ownerId": owner, "name": "Two-sided", "trigger": "CONVERTED",
                            "referrerAmount": 25.5, "refereeAmount": 10, "unit": "GBP"}
    data.update(kw)
    return data


async def create(client: Any, owner: str, **kw: Any) -> dict[str, Any]:
    body = await client.data(CREATE, {"input": program_input(owner, **kw)})
    return body["createRewardProgram"]


async def test_create_two_sided_tiered_program(gql, make, store):
    pro = await make.professional()
    payload = await create(
        gql, pro, name="  Spring campaign ", tiers=[{"fromCount": 3, "referrerAmount": 30},
                                                    {"fromCount": 10, "referrerAmount": 40.25}],
        monthlyCapPerReferrer=5, verifiedOnly=True, referrerRate=0.1,
        startsAt="2026-01-01T00:00:00+00:00", endsAt="2200-01-01T00:00:00+00:00")
    assert payload["errors"] == []
    p = payload["program"]
    assert p["name"] == "Spring campaign"
    assert (p["referrerAmount"], p["refereeAmount"], p["referrerRate"]) == (25.5, 10.0, 0.1)
    assert p["tiers"] == [{"fromCount": 3, "referrerAmount": 30.0},
                          {"fromCount": 10, "referrerAmount": 40.25}]
    assert (p["monthlyCapPerReferrer"], p["verifiedOnly"], p["active"]) == (5, True, True)
    assert p["owner"] == {"__typename": "Professional", "id": pro}
    assert p["endedAt"] is None
    rows = await store.read(STORED, id=p["id"])
    assert (rows[0]["r"], rows[0]["e"]) == (2550, 1000)


async def test_defaults_one_sided_and_points(gql, make, store):
    net = await make.network()
    payload = await create(gql, net, trigger="ACCEPTED", referrerAmount=100,
                           refereeAmount=None, unit="points")
    assert payload["errors"] == []
    p = payload["program"]
    assert (p["unit"], p["refereeAmount"], p["tiers"], p["referrerRate"]) == (
        "POINTS", 0.0, [], None)
    assert (p["verifiedOnly"], p["monthlyCapPerReferrer"], p["endsAt"], p["active"]) == (
        False, None, None, True)
    assert p["owner"] == {"__typename": "Network", "id": net}
    jpy = await create(gql, net, unit="JPY", referrerAmount=1500, refereeAmount=0)
    assert jpy["errors"] == []
    assert (await store.read(STORED, id=jpy["program"]["id"]))[0]["r"] == 1500


BAD = [
    ({"name": "   "}, ["input", "name"]),
    ({"name": "x" * 201}, ["input", "name"]),
    ({"unit": "XYZ"}, ["input", "unit"]),
    ({"referrerAmount": -1}, ["input", "referrerAmount"]),
    ({"referrerAmount": 1.005}, ["input", "referrerAmount"]),
    ({"refereeAmount": -0.01}, ["input", "refereeAmount"]),
    ({"unit": "JPY", "referrerAmount": 10.5}, ["input", "referrerAmount"]),
    ({"unit": "POINTS", "referrerAmount": 0.5}, ["input", "referrerAmount"]),
    ({"tiers": [{"fromCount": 0, "referrerAmount": 1}]}, ["input", "tiers", "0", "fromCount"]),
    ({"tiers": [{"fromCount": 3, "referrerAmount": 1}, {"fromCount": 3, "referrerAmount": 2}]},
     ["input", "tiers", "1", "fromCount"]),
    ({"tiers": [{"fromCount": 5, "referrerAmount": 1}, {"fromCount": 2, "referrerAmount": 2}]},
     ["input", "tiers", "1", "fromCount"]),
    ({"tiers": [{"fromCount": 2, "referrerAmount": 1.001}]},
     ["input", "tiers", "0", "referrerAmount"]),
    ({"referrerRate": 0}, ["input", "referrerRate"]),
    ({"referrerRate": 0.51}, ["input", "referrerRate"]),
    ({"referrerRate": 0.1, "trigger": "ACCEPTED"}, ["input", "referrerRate"]),
    ({"referrerRate": 0.1, "unit": "POINTS", "referrerAmount": 1, "refereeAmount": 0},
     ["input", "referrerRate"]),
    ({"monthlyCapPerReferrer": 0}, ["input", "monthlyCapPerReferrer"]),
    ({"startsAt": "2026-03-01T00:00:00+00:00", "endsAt": "2026-03-01T00:00:00+00:00"},
     ["input", "endsAt"]),
    ({"startsAt": "2026-03-01T00:00:00+00:00", "endsAt": "2026-02-01T00:00:00+00:00"},
     ["input", "endsAt"]),
    ({"startsAt": "2026-03-01T00:00:00"}, ["input", "startsAt"]),
    ({"id": "net_1"}, ["input", "id"]),
    ({"referrerAmount": 1e10}, ["input", "referrerAmount"]),
    ({"tiers": [{"fromCount": i, "referrerAmount": 1} for i in range(1, 22)]},
     ["input", "tiers"]),
]


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_each_rule_refuses_and_writes_nothing(gql, make, exists, uid, bad, field):
    pro = await make.professional()
    program_id = uid("rpg")
    data = {"id": program_id, **bad}
    payload = await create(gql, pro, **data)
    assert payload["program"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", field)]
    if bad.get("id") is None:
        assert not await exists(program_id)
    assert (await gql.data(OF_PROFESSIONAL, {"id": pro}))["professional"]["rewardPrograms"] == []


GOOD = [
    {"referrerAmount": 0, "refereeAmount": 0},
    {"referrerAmount": 1.01, "refereeAmount": 0.99},
    {"unit": "BHD", "referrerAmount": 1.005},
    {"tiers": [{"fromCount": 1, "referrerAmount": 1}, {"fromCount": 2, "referrerAmount": 2}]},
    {"referrerRate": 0.5},
    {"monthlyCapPerReferrer": 1},
    {"startsAt": "2026-03-01T00:00:00+00:00", "endsAt": "2026-03-01T00:00:01+00:00"},
    {"name": "x" * 200},
]


@pytest.mark.parametrize("good", GOOD)
async def test_each_rule_accepts_its_good_case(gql, make, good):
    pro = await make.professional()
    payload = await create(gql, pro, **good)
    assert payload["errors"] == []
    assert payload["program"]["id"].startswith("rpg_")


def test_units_table_knows_the_usual_minor_units():
    assert (UNIT_DECIMALS["GBP"], UNIT_DECIMALS["EUR"], UNIT_DECIMALS["USD"]) == (2, 2, 2)
    assert (UNIT_DECIMALS["JPY"], UNIT_DECIMALS["POINTS"]) == (0, 0)


async def test_owner_must_be_a_professional_or_network(gql, make):
    customer = await make.customer()
    payload = await create(gql, customer)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION", ["input", "ownerId"])]


async def test_missing_owner(as_, gql, uid, exists):
    missing = uid("net")
    program_id = uid("rpg")
    admin = await create(gql, missing, id=program_id)
    assert [(e["code"], e["field"]) for e in admin["errors"]] == [
        ("NOT_FOUND", ["input", "ownerId"])]
    # An organiser whose token names a network that does not exist learns nothing of it.
    organiser = as_("organiser", "org_1", [missing])
    refused = await create(organiser, missing, id=program_id)
    assert [(e["code"], e["message"]) for e in refused["errors"]] == [("FORBIDDEN", "not allowed")]
    assert not await exists(program_id)


async def test_idempotent_create(gql, make, uid, as_):
    pro = await make.professional()
    program_id = uid("rpg")
    first = await create(gql, pro, id=program_id)
    again = await create(gql, pro, id=program_id)
    assert first["errors"] == again["errors"] == []
    assert again["program"] == first["program"]
    differing = await create(gql, pro, id=program_id, referrerAmount=26, monthlyCapPerReferrer=3)
    assert differing["program"] is None
    [error] = differing["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", ["input", "id"])
    assert "monthlyCapPerReferrer" in error["message"] and "referrerAmount" in error["message"]
    # Another professional reusing the id learns only that it is taken.
    other = await make.professional()
    taken = await create(as_("professional", other), other, id=program_id)
    assert [(e["code"], e["message"]) for e in taken["errors"]] == [("CONFLICT", "id is taken")]
    programs = (await gql.data(OF_PROFESSIONAL, {"id": pro}))["professional"]["rewardPrograms"]
    assert [p["id"] for p in programs] == [program_id]


async def test_end_program_is_idempotent_and_inactive(gql, make):
    pro = await make.professional()
    program_id = (await create(gql, pro))["program"]["id"]
    ended = (await gql.data(END, {"id": program_id}))["endRewardProgram"]
    assert ended["errors"] == []
    assert ended["program"]["active"] is False and ended["program"]["endedAt"] is not None
    again = (await gql.data(END, {"id": program_id}))["endRewardProgram"]
    assert again["errors"] == [] and again["program"]["endedAt"] == ended["program"]["endedAt"]
    listed = (await gql.data(OF_PROFESSIONAL, {"id": pro}))["professional"]["rewardPrograms"]
    assert listed == [{"id": program_id, "active": False}]


async def test_active_follows_the_window(gql, make):
    pro = await make.professional()
    past = await create(gql, pro, startsAt="2020-01-01T00:00:00+00:00",
                        endsAt="2020-02-01T00:00:00+00:00")
    future = await create(gql, pro, startsAt="2199-01-01T00:00:00+00:00")
    assert past["program"]["active"] is False
    assert future["program"]["active"] is False


async def test_end_errors(gql, as_, uid):
    missing = uid("rpg")
    admin = (await gql.data(END, {"id": missing}))["endRewardProgram"]
    assert [(e["code"], e["field"]) for e in admin["errors"]] == [("NOT_FOUND", ["id"])]
    bad = (await gql.data(END, {"id": "pro_1"}))["endRewardProgram"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("VALIDATION", ["id"])]
    other = (await as_("professional", uid("pro")).data(END, {"id": missing}))["endRewardProgram"]
    assert [(e["code"], e["message"]) for e in other["errors"]] == [("FORBIDDEN", "not allowed")]


@pytest.fixture
async def scene(make, as_):
    """A professional, a network it is an active member of, an outsider professional, a
    customer, and an organiser of the network and of another one."""
    owner = await make.professional()
    outsider = await make.professional()
    customer = await make.customer()
    net = await make.network()
    other_net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=owner)
    return {
        "owner": owner, "net": net, "other_net": other_net,
        "clients": {
            "admin": as_("admin"),
            "owner professional": as_("professional", owner),
            "other professional": as_("professional", outsider),
            "organiser": as_("organiser", "org_a", [net]),
            "other organiser": as_("organiser", "org_b", [other_net]),
            "customer": as_("customer", customer),
        },
    }


# Who may create and end: a professional's programs / a network's programs.
MANAGE_PROFESSIONAL = {"admin", "owner professional"}
MANAGE_NETWORK = {"admin", "organiser"}
READ_PROFESSIONAL = {"admin", "owner professional", "other professional", "organiser",
                     "other organiser", "customer"}
READ_NETWORK = {"admin", "owner professional", "organiser"}


async def test_create_access(scene, exists, uid):
    for owner_key, allowed in (("owner", MANAGE_PROFESSIONAL), ("net", MANAGE_NETWORK)):
        owner = scene[owner_key]
        for who, client in scene["clients"].items():
            program_id = uid("rpg")
            payload = await create(client, owner, id=program_id)
            if who in allowed:
                assert payload["errors"] == [], (owner_key, who)
                assert await exists(program_id)
            else:
                assert payload["program"] is None, (owner_key, who)
                assert [(e["code"], e["message"], e["field"]) for e in payload["errors"]] == [
                    ("FORBIDDEN", "not allowed", ["input", "ownerId"])], (owner_key, who)
                assert not await exists(program_id)


async def test_end_access(scene, gql):
    for owner_key, allowed in (("owner", MANAGE_PROFESSIONAL), ("net", MANAGE_NETWORK)):
        for who, client in scene["clients"].items():
            program_id = (await create(gql, scene[owner_key]))["program"]["id"]
            payload = (await client.data(END, {"id": program_id}))["endRewardProgram"]
            if who in allowed:
                assert payload["errors"] == [], (owner_key, who)
                assert payload["program"]["active"] is False
            else:
                assert [(e["code"], e["message"]) for e in payload["errors"]] == [
                    ("FORBIDDEN", "not allowed")], (owner_key, who)
                # The refused end changed nothing.
                node = (await gql.data(NODE, {"id": program_id}))["node"]
                assert node["endedAt"] is None, (owner_key, who)


async def test_read_access(scene, gql, as_):
    pro_program = (await create(gql, scene["owner"]))["program"]["id"]
    net_program = (await create(gql, scene["net"]))["program"]["id"]
    for who, client in scene["clients"].items():
        # A professional's programs: every signed-in party.
        assert who in READ_PROFESSIONAL
        listed = (await client.data(OF_PROFESSIONAL, {"id": scene["owner"]}))["professional"]
        assert listed["rewardPrograms"] == [{"id": pro_program, "active": True}], who
        node = (await client.data(NODE, {"id": pro_program}))["node"]
        assert node["id"] == pro_program, who

        body = await client.post(OF_NETWORK, {"id": scene["net"]})
        node = await client.post(NODE, {"id": net_program})
        if who in READ_NETWORK:
            assert "errors" not in body, (who, body)
            assert body["data"]["network"]["rewardPrograms"] == [
                {"id": net_program, "active": True}]
            assert node["data"]["node"]["id"] == net_program
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
            assert node["data"]["node"] is None
            assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
            assert node["errors"][0]["message"] == "not allowed"
    for query, owner in ((OF_PROFESSIONAL, scene["owner"]), (OF_NETWORK, scene["net"]),
                         (NODE, net_program)):
        response = await as_(None).raw(query, {"id": owner})
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_node_of_missing_program_reveals_nothing(gql, as_, uid):
    missing = uid("rpg")
    assert (await gql.data(NODE, {"id": missing}))["node"] is None
    refused = await as_("customer", uid("cus")).post(NODE, {"id": missing})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["errors"][0]["message"] == "not allowed"


async def test_anonymous_cannot_create_or_end(as_, gql, make, uid, exists):
    pro = await make.professional()
    program_id = uid("rpg")
    response = await as_(None).raw(CREATE, {"input": program_input(pro, id=program_id)})
    assert response.status_code == 401, response.text
    assert not await exists(program_id)
    program = (await create(gql, pro))["program"]["id"]
    ended = await as_(None).raw(END, {"id": program})
    assert ended.status_code == 401
    assert (await gql.data(NODE, {"id": program}))["node"]["endedAt"] is None


async def test_concurrent_creates_with_one_id_make_one_program(gql, make, uid, store):
    pro = await make.professional()
    program_id = uid("rpg")
    payloads = await asyncio.gather(*(create(gql, pro, id=program_id) for _ in range(6)))
    assert [p["errors"] for p in payloads] == [[]] * 6
    assert {p["program"]["id"] for p in payloads} == {program_id}
    rows = await store.read("MATCH (p:RewardProgram {id: $id})-[:OFFERED_BY]->(o) "
                            "RETURN count(p) AS n, collect(o.id) AS owners", id=program_id)
    assert (rows[0]["n"], rows[0]["owners"]) == (1, [pro])


async def test_programs_of_several_owners_in_one_request(gql, make):
    """The programs of several owners are read in one batch, each under its own owner."""
    a, b, c = [await make.professional() for _ in range(3)]
    a1 = (await create(gql, a, name="a1"))["program"]["id"]
    a2 = (await create(gql, a, name="a2"))["program"]["id"]
    b1 = (await create(gql, b, name="b1"))["program"]["id"]
    body = await gql.data(
        "query($a: ID!, $b: ID!, $c: ID!) { a: professional(id: $a) { rewardPrograms { id } } "
        "b: professional(id: $b) { rewardPrograms { id } } "
        "c: professional(id: $c) { rewardPrograms { id } } }", {"a": a, "b": b, "c": c})
    assert [p["id"] for p in body["a"]["rewardPrograms"]] == [a1, a2]
    assert [p["id"] for p in body["b"]["rewardPrograms"]] == [b1]
    assert body["c"]["rewardPrograms"] == []
