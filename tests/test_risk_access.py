"""Risk and reviews: who reads them, what the stored risk reads as, and that a page of
referrals with their risk costs a bounded number of round trips."""

from __future__ import annotations

import pytest

from tests.stored_risk import DROP_RUN, finding, plant

PRO_RISK = """query($id: ID!) { professional(id: $id) { id risk { score assessedAt
  findings { signal strength explanation
    involved { __typename ... on Customer { id name } ... on Professional { id name } } } } } }"""
REF_RISK = """query($id: ID!) { referral(id: $id) { id counts risk { score findings { signal } }
  review { decision note by at } } }"""
REF_REVIEW = "query($id: ID!) { referral(id: $id) { id counts review { decision by } } }"
RISKY = """query($min: Float, $net: ID, $first: Int, $after: String) {
  riskyProfessionals(minScore: $min, networkId: $net, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id risk { score } } } }"""
RISKY_IDS = """query($min: Float, $net: ID) {
  riskyProfessionals(minScore: $min, networkId: $net, first: 100) { nodes { id } } }"""
REVIEW = """mutation($input: ReviewReferralInput!) { reviewReferral(input: $input) {
  referral { id counts review { decision note by } } errors { code message field } } }"""


def codes(body):
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


@pytest.fixture
async def world(make, store):
    """Two member professionals of one network, a referral between them, and planted risk."""
    alice, bob = await make.customer(name="Alice Walker"), await make.customer(name="Bob Stone")
    plumber = await make.professional(trades=["plumbing"], name="Pat Plumber")
    roofer = await make.professional(trades=["roofing"], name="Rae Roofer")
    net, other = await make.network(), await make.network(name="Other Circle")
    for pro in (plumber, roofer):
        await make.ok("add_member", networkId=net, professionalId=pro)
    ref = await make.referral(plumber, roofer, alice)
    customer_ref = await make.referral(bob, roofer, alice)
    score = await plant(store, roofer, finding("RING", 0.6, [plumber, alice]),
                        finding("BURST", 0.5))
    await plant(store, ref, finding("RECIPROCAL_ONLY", 0.7, [plumber]))
    return {"alice": alice, "bob": bob, "plumber": plumber, "roofer": roofer, "net": net,
            "other": other, "ref": ref, "customer_ref": customer_ref, "score": score}


def principals(as_, w):
    """Every kind of caller, with whether it may read the roofer's and the referral's risk."""
    return [
        ("admin", as_("admin"), True),
        ("organiser", as_("organiser", None, [w["net"]]), True),
        ("organiser of another network", as_("organiser", None, [w["other"]]), False),
        ("the professional itself", as_("professional", w["roofer"]), False),
        ("a customer", as_("customer", w["alice"]), False),
    ]


async def test_professional_risk_reads_for_admins_and_its_networks_organisers(as_, world):
    for name, client, allowed in principals(as_, world):
        body = await client.post(PRO_RISK, {"id": world["roofer"]})
        if allowed:
            assert "errors" not in body, (name, body)
            risk = body["data"]["professional"]["risk"]
            assert risk["score"] == pytest.approx(world["score"]) == pytest.approx(0.8)
            assert [f["signal"] for f in risk["findings"]] == ["RING", "BURST"]
            assert risk["assessedAt"] is not None
            # Involved parties show what the viewer may read: the customer's display name.
            assert risk["findings"][0]["involved"] == [
                {"__typename": "Professional", "id": world["plumber"], "name": "Pat Plumber"},
                {"__typename": "Customer", "id": world["alice"],
                 "name": "Alice Walker" if name == "admin" else "Alice W."}]
        else:
            assert codes(body) == ["FORBIDDEN"], name
            assert body["data"]["professional"] is None
    anonymous = await as_(None).raw(PRO_RISK, {"id": world["roofer"]})
    assert anonymous.status_code == 401


async def test_an_unassessed_professional_reads_score_0_and_assessed_at_null_before_any_run(
        gql, make, store):
    pro = await make.professional()
    await store.run_write(DROP_RUN)
    risk = (await gql.data(PRO_RISK, {"id": pro}))["professional"]["risk"]
    assert risk == {"score": 0.0, "assessedAt": None, "findings": []}
    await plant(store, await make.professional(), finding("BURST", 0.3))
    after = (await gql.data(PRO_RISK, {"id": pro}))["professional"]["risk"]
    assert after["score"] == 0.0 and after["findings"] == [] and after["assessedAt"] is not None


async def test_an_organiser_does_not_read_risk_of_an_invited_professional(as_, make, store):
    net = await make.network()
    invited = await make.professional()
    organiser = as_("organiser", None, [net])
    await organiser.data("""mutation($input: NetworkMemberInput!) { addNetworkMember(input:
        $input) { errors { code } } }""", {"input": {"networkId": net, "professionalId": invited}})
    await plant(store, invited, finding("BURST", 0.9))
    assert codes(await organiser.post(PRO_RISK, {"id": invited})) == ["FORBIDDEN"]


async def test_referral_risk_and_review_read_for_admins_and_organisers_only(as_, world):
    await as_("admin").data(REVIEW, {"input": {"id": world["ref"], "decision": "CLEARED",
                                               "note": "known partners"}})
    rows = [*principals(as_, world), ("the referrer", as_("professional", world["plumber"]),
                                      False)]
    for name, client, allowed in rows:
        body = await client.post(REF_RISK, {"id": world["ref"]})
        if allowed:
            assert "errors" not in body, (name, body)
            got = body["data"]["referral"]
            assert got["risk"]["score"] == pytest.approx(0.7)
            assert got["review"]["decision"] == "CLEARED" and got["review"]["by"] == "admin"
        else:
            assert codes(body) == ["FORBIDDEN"], name
        # Parties read the referral and whether it counts; the review stays with reviewers.
        seen = await client.post(REF_REVIEW, {"id": world["ref"]})
        if name == "organiser of another network":
            assert codes(seen) == ["FORBIDDEN"] and seen["data"]["referral"] is None
        else:
            referral = seen["data"]["referral"]
            assert referral["counts"] is True
            assert (referral["review"] is not None) == allowed, name
    assert (await as_(None).raw(REF_RISK, {"id": world["ref"]})).status_code == 401


async def test_an_organiser_reads_no_referral_it_may_not_review(as_, world, uid):
    organiser = as_("organiser", None, [world["net"]])
    # A customer's referral is not between two members: not the organiser's to read.
    refused = await organiser.post(REF_REVIEW, {"id": world["customer_ref"]})
    missing = await organiser.post(REF_REVIEW, {"id": uid("ref")})
    assert codes(refused) == codes(missing) == ["FORBIDDEN"]
    assert refused["errors"][0]["message"] == missing["errors"][0]["message"]


async def test_risky_professionals_by_caller(as_, world):
    admin, organiser = as_("admin"), as_("organiser", None, [world["net"]])
    everyone = (await admin.data(RISKY_IDS, {"min": 0.75}))["riskyProfessionals"]["nodes"]
    assert world["roofer"] in [n["id"] for n in everyone]
    mine = (await organiser.data(RISKY_IDS, {"min": 0.75}))["riskyProfessionals"]["nodes"]
    assert mine == [{"id": world["roofer"]}]
    named = await organiser.data(RISKY_IDS, {"min": 0.75, "net": world["net"]})
    assert named["riskyProfessionals"]["nodes"] == [{"id": world["roofer"]}]
    stranger = as_("organiser", None, [world["other"]])
    assert (await stranger.data(RISKY_IDS, {"min": 0.0}))["riskyProfessionals"]["nodes"] == []
    assert codes(await stranger.post(RISKY_IDS, {"net": world["net"]})) == ["FORBIDDEN"]
    for client in (as_("professional", world["roofer"]), as_("customer", world["alice"])):
        assert codes(await client.post(RISKY_IDS, {})) == ["FORBIDDEN"]
    assert (await as_(None).raw(RISKY_IDS, {})).status_code == 401


async def test_risky_professionals_pages_highest_first_then_id(gql, make, store):
    net = await make.network()
    pros = [await make.professional() for _ in range(5)]
    for pro in pros:
        await make.ok("add_member", networkId=net, professionalId=pro)
    strengths = [0.9, 0.6, 0.6, 0.3, None]
    for pro, strength in zip(pros, strengths, strict=True):
        if strength is not None:
            await plant(store, pro, finding("NO_OUTCOMES", strength))
    expected = sorted(pros[:3], key=lambda p: (-strengths[pros.index(p)], p))
    seen, after = [], None
    while True:
        page = (await gql.data(RISKY, {"min": 0.5, "net": net, "first": 2, "after": after})
                )["riskyProfessionals"]
        assert page["totalCount"] == 3
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    # The default threshold is 0.5; 0 lists every professional with any finding.
    default = await gql.data(RISKY, {"net": net})
    assert default["riskyProfessionals"]["totalCount"] == 3
    assert (await gql.data(RISKY, {"net": net, "min": 0}))["riskyProfessionals"][
        "totalCount"] == 4
    # Over all professionals: highest first.
    scores = [n["risk"]["score"] for n in (await gql.data(RISKY, {"min": 0.2, "first": 50}))[
        "riskyProfessionals"]["nodes"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.2


@pytest.mark.parametrize("value", [-0.1, 1.01, 2])
async def test_min_score_outside_0_1_is_refused_before_anything_runs(gql, value):
    body = await gql.post(RISKY, {"min": value})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "minScore"}
    assert "between 0 and 1" in body["errors"][0]["message"]


async def test_a_cursor_of_another_list_is_refused(gql, make):
    body = await gql.data("{ professionals(first: 1) { pageInfo { endCursor } } }")
    cursor = body["professionals"]["pageInfo"]["endCursor"]
    refused = await gql.post(RISKY, {"after": cursor})
    assert codes(refused) == ["VALIDATION"]


PAGE_WITH_RISK = """query($pro: ID!, $first: Int!) { professional(id: $pro) {
  referralsReceived(first: $first) { nodes { id counts review { decision }
    risk { score assessedAt findings { signal involved { ... on Customer { id name } } } }
  } } } }"""


async def test_a_page_of_referrals_with_their_risk_costs_the_same_round_trips(gql, make, store):
    pro = await make.professional()
    referrer = await make.customer()
    for _ in range(8):
        referee = await make.customer()
        ref = await make.referral(referrer, pro, referee)
        await plant(store, ref, finding("HOLLOW_REFEREES", 0.8, [referee]))

    async def trips(first: int) -> int:
        start = store.round_trips
        data = await gql.data(PAGE_WITH_RISK, {"pro": pro, "first": first})
        nodes = data["professional"]["referralsReceived"]["nodes"]
        assert len(nodes) == first
        assert all(n["risk"]["findings"][0]["involved"][0]["id"] for n in nodes)
        return store.round_trips - start

    small, large = await trips(2), await trips(8)
    assert small == large
    # The page, the risks of all referrals, then the involved customers.
    assert large <= 4
