"""Rewards through GraphQL: who reads them, the owner's lifecycle moves, history, pages and
exact totals; every field's allowed and refused rows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

REWARD = """id role amount unit status clawback createdAt updatedAt
  history { status at by reason }
  program { id } referral { id }
  recipient { __typename ... on Customer { id } ... on Professional { id } }"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ id ... on Reward {{ {REWARD} }} }} }}"
PAYLOAD = f"reward {{ {REWARD} }} errors {{ code message field }}"
APPROVE = f"mutation($id: ID!) {{ approveReward(id: $id) {{ {PAYLOAD} }} }}"
PAY = f"mutation($id: ID!) {{ markRewardPaid(id: $id) {{ {PAYLOAD} }} }}"
VOID = f"""mutation($id: ID!, $reason: String!) {{
  voidReward(id: $id, reason: $reason) {{ {PAYLOAD} }} }}"""
CREATE_PROGRAM = """mutation($input: CreateRewardProgramInput!) {
  createRewardProgram(input: $input) { program { id } errors { code message field } } }"""
OF_REFERRAL = "query($id: ID!) { referral(id: $id) { rewards { id role status } } }"
PAGE = """pageInfo { hasNextPage endCursor } totalCount
  edges { cursor node { id status amount } } nodes { id }"""
OF_CUSTOMER = f"""query($id: ID!, $status: RewardStatus, $first: Int, $after: String) {{
  customer(id: $id) {{ rewards(status: $status, first: $first, after: $after) {{ {PAGE} }} }} }}"""
OF_PROFESSIONAL = f"""query($id: ID!, $status: RewardStatus, $first: Int, $after: String) {{
  professional(id: $id) {{
    rewards(status: $status, first: $first, after: $after) {{ {PAGE} }} }} }}"""
OF_PROGRAM = f"""query($id: ID!, $status: RewardStatus, $first: Int, $after: String) {{
  node(id: $id) {{ ... on RewardProgram {{
    rewards(status: $status, first: $first, after: $after) {{ {PAGE} }} }} }} }}"""
TOTALS_CUSTOMER = """query($id: ID!) { customer(id: $id) {
  rewardTotals { unit status count amount } } }"""
TOTALS_PROFESSIONAL = """query($id: ID!) { professional(id: $id) {
  rewardTotals { unit status count amount } } }"""
RISKY = "MATCH (x:Referral {id: $id}) SET x.riskScore = 0.9"


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def program(gql: Any, owner: str, **kw: Any) -> str:
    data = {"ownerId": owner, "name": "Thanks", "trigger": "ACCEPTED", "referrerAmount": 0.1,
            "refereeAmount": 0.05, "unit": "GBP", **kw}
    body = (await gql.data(CREATE_PROGRAM, {"input": data}))["createRewardProgram"]
    assert body["errors"] == [], body
    return str(body["program"]["id"])


async def accepted(make: Any, referrer: str, professional: str, referee: str,
                   store: Any = None) -> str:
    """A referral moved to ACCEPTED (earning the programs' rewards); HELD ones when ``store``
    is given: the referral is made risky first."""
    ref = await make.referral(referrer, professional, referee)
    if store is not None:
        await store.run_write(RISKY, id=ref)
    moved = await make.status(ref, "ACCEPTED")
    assert moved["errors"] == [], moved
    return ref


async def rewards_of(gql: Any, ref: str) -> dict[tuple[str, str], str]:
    """The referral's rewards (as an admin) by (program, role) -> id."""
    body = await gql.data(f"query($id: ID!) {{ referral(id: $id) {{ rewards {{ {REWARD} }} }} }}",
                          {"id": ref})
    return {(w["program"]["id"], w["role"]): w["id"] for w in body["referral"]["rewards"]}


@pytest.fixture
async def scene(make: Any, gql: Any, as_: Any) -> dict[str, Any]:
    """A professional with its own two-sided program; a network (both professionals active
    members) with a points program; a customer and a member professional referring to it."""
    owner = await make.professional()
    member = await make.professional(trades=["roofing"])
    outsider = await make.professional()
    alice, bob, carol, stranger = [await make.customer(name=n) for n in
                                   ("Alice Walker", "Bob Stone", "Carol Hay", "Sam Other")]
    net = await make.network()
    other_net = await make.network()
    for pro in (owner, member):
        await make.ok("add_member", networkId=net, professionalId=pro)
    own_program = await program(gql, owner)
    net_program = await program(gql, net, name="Circle points", referrerAmount=5,
                                refereeAmount=0, unit="POINTS")
    # alice refers bob: the professional's program gives alice 0.10 and bob 0.05 GBP.
    from_customer = await accepted(make, alice, owner, bob)
    # the member refers carol: the professional's program (0.10 and 0.05 GBP) and the
    # network's (5 points to the member).
    from_member = await accepted(make, member, owner, carol)
    w1 = await rewards_of(gql, from_customer)
    w2 = await rewards_of(gql, from_member)
    return {
        "owner": owner, "member": member, "alice": alice, "bob": bob, "carol": carol,
        "net": net, "own_program": own_program, "net_program": net_program,
        "from_customer": from_customer, "from_member": from_member,
        "alice_reward": w1[(own_program, "REFERRER")],
        "bob_reward": w1[(own_program, "REFEREE")],
        "member_reward": w2[(own_program, "REFERRER")],
        "carol_reward": w2[(own_program, "REFEREE")],
        "member_points": w2[(net_program, "REFERRER")],
        "clients": {
            "admin": as_("admin"),
            "owner": as_("professional", owner),
            "member": as_("professional", member),
            "alice": as_("customer", alice),
            "bob": as_("customer", bob),
            "carol": as_("customer", carol),
            "organiser": as_("organiser", "org_a", [net]),
            "other professional": as_("professional", outsider),
            "other customer": as_("customer", stranger),
            "other organiser": as_("organiser", "org_b", [other_net]),
        },
    }


async def test_earned_rewards_read_as_the_contract_says(scene, gql):
    body = await gql.data(NODE, {"id": scene["alice_reward"]})
    w = body["node"]
    assert (w["role"], w["amount"], w["unit"], w["status"], w["clawback"]) == (
        "REFERRER", 0.1, "GBP", "PENDING", False)
    assert w["program"]["id"] == scene["own_program"]
    assert w["referral"]["id"] == scene["from_customer"]
    assert w["recipient"] == {"__typename": "Customer", "id": scene["alice"]}
    assert [(h["status"], h["by"], h["reason"]) for h in w["history"]] == [
        ("PENDING", "earning", None)]
    points = (await gql.data(NODE, {"id": scene["member_points"]}))["node"]
    assert (points["amount"], points["unit"], points["role"]) == (5.0, "POINTS", "REFERRER")
    assert points["recipient"] == {"__typename": "Professional", "id": scene["member"]}
    referee = (await gql.data(NODE, {"id": scene["bob_reward"]}))["node"]
    assert (referee["role"], referee["amount"]) == ("REFEREE", 0.05)
    assert referee["recipient"] == {"__typename": "Customer", "id": scene["bob"]}


# Who reads each reward by node(id): its recipient, the program's managers, admins.
READERS = {
    "alice_reward": {"admin", "alice", "owner"},
    "bob_reward": {"admin", "bob", "owner"},
    "member_reward": {"admin", "member", "owner"},
    "carol_reward": {"admin", "carol", "owner"},
    "member_points": {"admin", "member", "organiser"},
}


async def test_node_access(scene):
    for reward, readers in READERS.items():
        for who, client in scene["clients"].items():
            body = await client.post(NODE, {"id": scene[reward]})
            if who in readers:
                assert "errors" not in body, (reward, who, body)
                assert body["data"]["node"]["id"] == scene[reward]
            else:
                assert body["data"]["node"] is None, (reward, who)
                assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
                    ("not allowed", {"code": "FORBIDDEN"})], (reward, who)


async def test_node_refusal_is_the_same_for_unknown_and_foreign_ids(scene, gql, uid):
    missing = uid("rwd")
    assert (await gql.data(NODE, {"id": missing}))["node"] is None
    for who in ("other professional", "other customer", "other organiser", "bob"):
        client = scene["clients"][who]
        foreign = await client.post(NODE, {"id": scene["alice_reward"]})
        unknown = await client.post(NODE, {"id": missing})
        assert codes(foreign) == ["FORBIDDEN"], who
        # Byte for byte, but for the id's own place in nothing: the error names no id.
        assert foreign == unknown, who


# Referral.rewards: each reader of the referral sees only the rewards it may read.
SEEN_ON_REFERRAL = {
    ("from_customer", "admin"): {"alice_reward", "bob_reward"},
    ("from_customer", "owner"): {"alice_reward", "bob_reward"},
    ("from_customer", "alice"): {"alice_reward"},
    ("from_customer", "bob"): {"bob_reward"},
    ("from_member", "admin"): {"member_reward", "carol_reward", "member_points"},
    ("from_member", "owner"): {"member_reward", "carol_reward"},
    ("from_member", "member"): {"member_reward", "member_points"},
    ("from_member", "carol"): {"carol_reward"},
    ("from_member", "organiser"): {"member_points"},
}


async def test_referral_rewards_are_filtered_to_what_the_viewer_may_read(scene):
    for (ref, who), expected in SEEN_ON_REFERRAL.items():
        body = await scene["clients"][who].data(OF_REFERRAL, {"id": scene[ref]})
        seen = {w["id"] for w in body["referral"]["rewards"]}
        assert seen == {scene[k] for k in expected}, (ref, who)
    # Whoever may not read the referral is refused the referral as a whole, as before.
    refused = await scene["clients"]["other customer"].post(OF_REFERRAL,
                                                             {"id": scene["from_member"]})
    assert codes(refused) == ["FORBIDDEN"]


async def test_party_lists_and_totals_are_for_the_party_and_admins(scene):
    cases = [
        (OF_CUSTOMER, TOTALS_CUSTOMER, "alice", {"alice", "admin"}, {"alice_reward"}),
        (OF_CUSTOMER, TOTALS_CUSTOMER, "bob", {"bob", "admin"}, {"bob_reward"}),
        (OF_PROFESSIONAL, TOTALS_PROFESSIONAL, "member", {"member", "admin"},
         {"member_reward", "member_points"}),
        (OF_PROFESSIONAL, TOTALS_PROFESSIONAL, "owner", {"owner", "admin"}, set()),
    ]
    for listing, totals, party, allowed, expected in cases:
        kind = "customer" if listing is OF_CUSTOMER else "professional"
        for who, client in scene["clients"].items():
            body = await client.post(listing, {"id": scene[party]})
            summed = await client.post(totals, {"id": scene[party]})
            if who in allowed:
                assert "errors" not in body and "errors" not in summed, (party, who)
                page = body["data"][kind]["rewards"]
                assert {n["id"] for n in page["nodes"]} == {scene[k] for k in expected}
                assert page["totalCount"] == len(expected)
                assert sum(t["count"] for t in summed["data"][kind]["rewardTotals"]) == len(
                    expected)
            else:
                assert codes(body) == ["FORBIDDEN"], (party, who)
                assert codes(summed) == ["FORBIDDEN"], (party, who)


async def test_member_totals_per_unit(scene, gql):
    body = await gql.data(TOTALS_PROFESSIONAL, {"id": scene["member"]})
    assert body["professional"]["rewardTotals"] == [
        {"unit": "GBP", "status": "PENDING", "count": 1, "amount": 0.1},
        {"unit": "POINTS", "status": "PENDING", "count": 1, "amount": 5.0},
    ]


# RewardProgram.rewards: the program's managers and admins.
PROGRAM_READERS = {"own_program": {"admin", "owner"}, "net_program": {"admin", "organiser"}}


async def test_program_rewards_access(scene):
    expected = {"own_program": {"alice_reward", "bob_reward", "member_reward", "carol_reward"},
                "net_program": {"member_points"}}
    for prog, readers in PROGRAM_READERS.items():
        for who, client in scene["clients"].items():
            body = await client.post(OF_PROGRAM, {"id": scene[prog]})
            if who in readers:
                assert "errors" not in body, (prog, who, body)
                page = body["data"]["node"]["rewards"]
                assert {n["id"] for n in page["nodes"]} == {scene[k] for k in expected[prog]}
                assert page["totalCount"] == len(expected[prog])
            else:
                assert codes(body) == ["FORBIDDEN"], (prog, who)
                assert body["errors"][0]["message"] == "not allowed"


# Who may approve, pay and void each reward: the program's managers and admins.
MANAGERS = {"alice_reward": {"admin", "owner"}, "member_points": {"admin", "organiser"}}


async def test_lifecycle_moves_access(scene, gql, uid):
    missing = uid("rwd")
    for reward, managers in MANAGERS.items():
        for who, client in scene["clients"].items():
            if who in managers:
                continue
            for text, variables in ((APPROVE, {}), (PAY, {}), (VOID, {"reason": "no"})):
                foreign = await client.data(text, {"id": scene[reward], **variables})
                unknown = await client.data(text, {"id": missing, **variables})
                [payload] = foreign.values()
                assert payload == {"reward": None, "errors": [
                    {"code": "FORBIDDEN", "message": "not allowed", "field": ["id"]}]}, (
                    reward, who)
                assert foreign == unknown, (reward, who)
        # Nothing moved.
        node = (await gql.data(NODE, {"id": scene[reward]}))["node"]
        assert node["status"] == "PENDING" and len(node["history"]) == 1
    # Each manager moves its program's reward.
    for reward, client, by in ((scene["alice_reward"], scene["clients"]["owner"], scene["owner"]),
                               (scene["member_points"], scene["clients"]["organiser"], "org_a"),
                               (scene["bob_reward"], gql, "admin")):
        done = (await client.data(APPROVE, {"id": reward}))["approveReward"]
        assert done["errors"] == [], done
        assert done["reward"]["status"] == "APPROVED"
        assert done["reward"]["history"][-1]["by"] == by


async def test_pending_approved_paid_with_history(scene):
    owner = scene["clients"]["owner"]
    rid = scene["alice_reward"]
    approved = (await owner.data(APPROVE, {"id": rid}))["approveReward"]
    assert approved["errors"] == [] and approved["reward"]["status"] == "APPROVED"
    paid = (await owner.data(PAY, {"id": rid}))["markRewardPaid"]
    assert paid["errors"] == []
    w = paid["reward"]
    assert (w["status"], w["clawback"]) == ("PAID", False)
    assert [(h["status"], h["by"], h["reason"]) for h in w["history"]] == [
        ("PENDING", "earning", None), ("APPROVED", scene["owner"], None),
        ("PAID", scene["owner"], None)]
    times = [h["at"] for h in w["history"]]
    assert times == sorted(times) and w["updatedAt"] == times[-1]
    # A PAID reward is never voided, approved or paid again.
    for text, variables, target in ((VOID, {"reason": "too late"}, "VOID"),
                                    (APPROVE, {}, "APPROVED"), (PAY, {}, "PAID")):
        [refused] = (await owner.data(text, {"id": rid, **variables})).values()
        assert refused["reward"] is None
        [error] = refused["errors"]
        assert (error["code"], error["field"]) == ("INVALID_TRANSITION", ["id"])
        assert f"a PAID reward cannot become {target}" in error["message"]
    # The recipient reads the whole history of its reward.
    mine = (await scene["clients"]["alice"].data(NODE, {"id": rid}))["node"]
    assert [h["status"] for h in mine["history"]] == ["PENDING", "APPROVED", "PAID"]


async def test_pay_needs_approval_first(scene):
    refused = (await scene["clients"]["owner"].data(PAY, {"id": scene["alice_reward"]}))
    error = refused["markRewardPaid"]["errors"][0]
    assert error["code"] == "INVALID_TRANSITION"
    assert error["message"] == "a PENDING reward cannot become PAID (allowed: APPROVED, VOID)"


async def test_void_from_pending_and_approved_is_final(scene, gql):
    owner = scene["clients"]["owner"]
    voided = (await owner.data(VOID, {"id": scene["alice_reward"],
                                      "reason": "  duplicate claim "}))["voidReward"]
    assert voided["errors"] == []
    assert voided["reward"]["status"] == "VOID"
    assert voided["reward"]["history"][-1] == {
        "status": "VOID", "at": voided["reward"]["updatedAt"], "by": scene["owner"],
        "reason": "duplicate claim"}
    await owner.data(APPROVE, {"id": scene["bob_reward"]})
    after = (await gql.data(VOID, {"id": scene["bob_reward"], "reason": "left"}))["voidReward"]
    assert [h["status"] for h in after["reward"]["history"]] == ["PENDING", "APPROVED", "VOID"]
    assert after["reward"]["history"][-1]["by"] == "admin"
    for text, variables in ((APPROVE, {}), (PAY, {}), (VOID, {"reason": "again"})):
        [refused] = (await owner.data(text, {"id": scene["alice_reward"], **variables})).values()
        [error] = refused["errors"]
        assert error["code"] == "INVALID_TRANSITION"
        assert "a VOID reward cannot become" in error["message"]
        assert "(allowed: none)" in error["message"]
    node = (await gql.data(NODE, {"id": scene["alice_reward"]}))["node"]
    assert len(node["history"]) == 2


async def test_held_reward_cannot_be_approved_but_can_be_voided(make, gql, as_, store):
    owner = await make.professional()
    alice, bob = await make.customer(), await make.customer()
    prog = await program(gql, owner, refereeAmount=0)
    ref = await accepted(make, alice, owner, bob, store=store)
    [rid] = (await rewards_of(gql, ref)).values()
    client = as_("professional", owner)
    node = (await client.data(NODE, {"id": rid}))["node"]
    assert node["status"] == "HELD"
    assert node["history"] == [{"status": "HELD", "at": node["createdAt"], "by": "earning",
                                "reason": "risk score at or above the review threshold"}]
    for who in (client, gql):
        refused = (await who.data(APPROVE, {"id": rid}))["approveReward"]
        [error] = refused["errors"]
        assert (error["code"], error["field"]) == ("INVALID_TRANSITION", ["id"])
        assert error["message"] == ("the reward is HELD: its referral must be cleared by a "
                                    "reviewer before it can be approved")
    paid = (await client.data(PAY, {"id": rid}))["markRewardPaid"]
    assert paid["errors"][0]["code"] == "INVALID_TRANSITION"
    voided = (await client.data(VOID, {"id": rid, "reason": "fraud suspected"}))["voidReward"]
    assert voided["errors"] == []
    assert [h["status"] for h in voided["reward"]["history"]] == ["HELD", "VOID"]
    listed = await gql.data(OF_PROGRAM, {"id": prog, "status": "VOID"})
    assert [n["id"] for n in listed["node"]["rewards"]["nodes"]] == [rid]


async def test_bad_input_is_a_typed_error_and_changes_nothing(scene, gql):
    rid = scene["alice_reward"]
    for client in (gql, scene["clients"]["owner"], scene["clients"]["other customer"]):
        for reason in ("", "   ", "x" * 501):
            [error] = (await client.data(VOID, {"id": rid, "reason": reason}))["voidReward"][
                "errors"]
            assert (error["code"], error["field"]) == ("VALIDATION", ["reason"]), reason
        for bad in ("pro_1", "rwd", "nonsense", ""):
            [error] = (await client.data(APPROVE, {"id": bad}))["approveReward"]["errors"]
            assert (error["code"], error["field"]) == ("VALIDATION", ["id"]), bad
    node = (await gql.data(NODE, {"id": rid}))["node"]
    assert node["status"] == "PENDING" and len(node["history"]) == 1


async def test_admin_learns_a_reward_is_unknown(gql, uid):
    [error] = (await gql.data(APPROVE, {"id": uid("rwd")}))["approveReward"]["errors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["id"])


async def test_concurrent_approvals_move_once(scene, gql):
    owner = scene["clients"]["owner"]
    results = await asyncio.gather(*(owner.data(APPROVE, {"id": scene["carol_reward"]})
                                     for _ in range(5)))
    payloads = [r["approveReward"] for r in results]
    assert sum(p["errors"] == [] for p in payloads) == 1
    assert {e["code"] for p in payloads for e in p["errors"]} == {"INVALID_TRANSITION"}
    node = (await gql.data(NODE, {"id": scene["carol_reward"]}))["node"]
    assert [h["status"] for h in node["history"]] == ["PENDING", "APPROVED"]


async def test_pages_status_filter_and_exact_totals(make, gql, as_):
    owner = await make.professional()
    alice = await make.customer()
    prog = await program(gql, owner, refereeAmount=0)
    refs = [await accepted(make, alice, owner, await make.customer()) for _ in range(3)]
    ids = [next(iter((await rewards_of(gql, r)).values())) for r in refs]
    client = as_("customer", alice)
    totals = (await client.data(TOTALS_CUSTOMER, {"id": alice}))["customer"]["rewardTotals"]
    # Three times 0.1 is exactly 0.3: summed as integer pence, not as floats.
    assert totals == [{"unit": "GBP", "status": "PENDING", "count": 3, "amount": 0.3}]

    first = (await client.data(OF_CUSTOMER, {"id": alice, "first": 2}))["customer"]["rewards"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    # Newest first.
    assert [n["id"] for n in first["nodes"]] == [ids[2], ids[1]]
    assert first["edges"][-1]["cursor"] == first["pageInfo"]["endCursor"]
    rest = (await client.data(OF_CUSTOMER, {"id": alice, "first": 2,
                                            "after": first["pageInfo"]["endCursor"]}))
    rest = rest["customer"]["rewards"]
    assert [n["id"] for n in rest["nodes"]] == [ids[0]]
    assert rest["pageInfo"]["hasNextPage"] is False

    await as_("professional", owner).data(APPROVE, {"id": ids[1]})
    approved = (await client.data(OF_CUSTOMER, {"id": alice, "status": "APPROVED"}))
    assert [n["id"] for n in approved["customer"]["rewards"]["nodes"]] == [ids[1]]
    assert approved["customer"]["rewards"]["totalCount"] == 1
    pending = (await gql.data(OF_PROGRAM, {"id": prog, "status": "PENDING"}))
    assert [n["id"] for n in pending["node"]["rewards"]["nodes"]] == [ids[2], ids[0]]
    totals = (await client.data(TOTALS_CUSTOMER, {"id": alice}))["customer"]["rewardTotals"]
    assert totals == [{"unit": "GBP", "status": "APPROVED", "count": 1, "amount": 0.1},
                      {"unit": "GBP", "status": "PENDING", "count": 2, "amount": 0.2}]


async def test_bad_page_arguments_fail_the_query(scene, gql):
    for variables in ({"first": 0}, {"first": 101}, {"after": "not-a-cursor"}):
        body = await gql.post(OF_CUSTOMER, {"id": scene["alice"], **variables})
        assert codes(body) == ["VALIDATION"], variables


async def test_anonymous_requests_are_refused(scene, as_):
    for text, variables in ((NODE, {"id": scene["alice_reward"]}),
                            (APPROVE, {"id": scene["alice_reward"]}),
                            (TOTALS_CUSTOMER, {"id": scene["alice"]})):
        response = await as_(None).raw(text, variables)
        assert response.status_code == 401, response.text


BATCHED = """query($id: ID!, $first: Int!) { node(id: $id) { ... on RewardProgram {
  rewards(first: $first) { nodes { id amount program { id } referral { id status }
    recipient { ... on Customer { id name } } } } } } }"""
REFERRALS_WITH_REWARDS = """query($id: ID!, $first: Int!) { professional(id: $id) {
  referralsReceived(first: $first) { nodes { id rewards { id status } } } } }"""


async def test_round_trips_do_not_grow_with_the_page(make, gql, store):
    owner = await make.professional()
    prog = await program(gql, owner, refereeAmount=0)
    for _ in range(6):
        await accepted(make, await make.customer(), owner, await make.customer())

    async def trips(text: str, first: int) -> int:
        start = store.round_trips
        await gql.data(text, {"id": prog if text is BATCHED else owner, "first": first})
        return store.round_trips - start

    for text in (BATCHED, REFERRALS_WITH_REWARDS):
        small, large = await trips(text, 2), await trips(text, 6)
        assert small == large, text
    # The program, its page, then one batch each for programs, referrals and recipients.
    assert await trips(BATCHED, 6) <= 5
