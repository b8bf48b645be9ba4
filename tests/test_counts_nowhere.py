"""A referral confirmed as fraud counts nowhere: every figure it touched leaves it out, and
takes it back when an admin changes the decision to CLEARED. The referral itself stays listed,
with counts false."""

from __future__ import annotations

import asyncio
import time

import pytest

from graph import analytics
from seeds.complementary_trades import CURATED

REVIEW = """mutation($input: ReviewReferralInput!) { reviewReferral(input: $input) {
  referral { id counts } errors { code message } } }"""
TRUST = """query($from: ID!, $to: ID!) { trustPaths(from: $from, to: $to) {
  hops { relation referral { id } } } }"""
TRUSTED = """query($id: ID!) { customer(id: $id) { trustedProfessionals(limit: 50) {
  professional { id } } } }"""
BALANCE = """query($id: ID!) { professional(id: $id) {
  reciprocity { given received balance convertedGiven convertedReceived valueGiven valueReceived
    partners { partner { id } given received } }
  reciprocityTrend(months: 1) { given received }
  partnerRecommendations(limit: 50) { partner { id } sharedCustomers }
  referralsGiven { totalCount nodes { id counts } } } }"""
NETWORK = """query($id: ID!) { network(id: $id) {
  reciprocity { referrals coefficient givers(limit: 5) { professional { id } given } }
  imbalancedPairs(minGap: 1) { a { id } b { id } gap }
  gaps { passiveMembers { id } topReferrerShare } } }"""
REPUTATION = "query($id: ID!) { professional(id: $id) { reputation } }"
# An automatic refresh that the count of writes never starts (0 turns it off altogether).
NEVER_BY_COUNT = 10**9


def trade(uid) -> str:
    """A trade of this test alone, so that figures over trades see only its data."""
    return "t" + uid("pro")[4:].lower()


@pytest.fixture
async def world(make, uid):
    """A refers B to carol, who hires B through it (converted) and also hired A; alice refers
    B to bob; dave hired both without any referral. A and B are members of one network."""
    trades = trade(uid), trade(uid)
    a = await make.professional(trades=[trades[0]])
    b = await make.professional(trades=[trades[1]])
    alice, bob, carol = [await make.customer(name=n) for n in
                         ("Alice Walker", "Bob Stone", "Carol King")]
    net = await make.network()
    for pro in (a, b):
        await make.ok("add_member", networkId=net, professionalId=pro)
    await make.job(carol, a, rating=4, completedAt="2026-01-02T10:00:00+00:00")
    pro_ref = await make.referral(a, b, carol)
    assert (await make.status(pro_ref, "ACCEPTED"))["errors"] == []
    job = await make.job(carol, b, rating=5, value=300.0)
    assert (await make.status(pro_ref, "CONVERTED", jobId=job))["errors"] == []
    customer_ref = await make.referral(alice, b, bob)
    dave = await make.customer(name="Dave Hill")  # hired both, no referral involved
    await make.job(dave, a, rating=5)
    await make.job(dave, b, rating=5)
    return {"a": a, "b": b, "trades": trades, "alice": alice, "bob": bob, "carol": carol,
            "dave": dave, "net": net, "pro_ref": pro_ref, "customer_ref": customer_ref, "job": job}


async def decide(gql, referral: str, decision: str) -> None:
    done = (await gql.data(REVIEW, {"input": {"id": referral, "decision": decision}}))
    assert done["reviewReferral"]["errors"] == []
    assert done["reviewReferral"]["referral"]["counts"] is (decision == "CLEARED")


async def figures(gql, store, w) -> dict:
    """Every figure the two referrals feed, read the way clients and the batch read them."""
    out: dict = {}
    for name, (src, dst) in {"customer path": (w["alice"], w["b"]),
                             "referee path": (w["bob"], w["alice"]),
                             "professional path": (w["a"], w["b"])}.items():
        paths = (await gql.data(TRUST, {"from": src, "to": dst}))["trustPaths"]
        out[name] = [[h["referral"] and h["referral"]["id"] for h in p["hops"]] for p in paths]
    trusted = (await gql.data(TRUSTED, {"id": w["alice"]}))["customer"]["trustedProfessionals"]
    out["alice trusts b"] = w["b"] in [t["professional"]["id"] for t in trusted]
    for who in ("a", "b"):
        pro = (await gql.data(BALANCE, {"id": w[who]}))["professional"]
        out[f"{who} reciprocity"] = pro["reciprocity"]
        out[f"{who} trend"] = pro["reciprocityTrend"]
        out[f"{who} partners"] = {r["partner"]["id"]: r["sharedCustomers"]
                                  for r in pro["partnerRecommendations"]}
        out[f"{who} given"] = pro["referralsGiven"]
    out["network"] = (await gql.data(NETWORK, {"id": w["net"]}))["network"]
    ids = [w["a"], w["b"]]
    out["hires"] = sorted((h["source"], h["target"]) for h in
                          await analytics.hiring_edges(store, ids))
    out["referral edges"] = sorted((r["source"], r["target"]) for r in
                                   await analytics.paged(store, analytics.REFERRAL_EDGES, ids))
    out["co-hiring"] = sorted(await analytics.customer_trades(store, ids))
    return out


async def test_confirmed_fraud_leaves_every_figure_and_clearing_brings_it_back(
        gql, store, world):
    w = world
    before = await figures(gql, store, w)
    # What the referrals contribute while they count.
    assert before["customer path"] == [[w["customer_ref"]]]
    assert before["referee path"] == [[w["customer_ref"]]]
    assert [w["pro_ref"]] in before["professional path"]
    assert before["alice trusts b"] is True
    assert before["a reciprocity"]["given"] == 1 and before["a reciprocity"]["valueGiven"] == 300
    assert before["a reciprocity"]["convertedGiven"] == 1
    assert before["b reciprocity"]["received"] == 1
    assert before["a trend"] == [{"given": 1, "received": 0}]
    assert w["b"] not in before["a partners"]  # a current partner is never recommended
    assert before["network"]["reciprocity"]["referrals"] == 1
    assert before["network"]["imbalancedPairs"][0]["gap"] == 1
    assert before["network"]["gaps"]["topReferrerShare"] == 1.0
    assert w["a"] not in [p["id"] for p in before["network"]["gaps"]["passiveMembers"]]
    assert (w["carol"], w["b"]) in before["hires"]
    assert (w["a"], w["b"]) in before["referral edges"]
    assert (w["alice"], w["b"]) in before["referral edges"]
    assert before["co-hiring"] == [sorted(w["trades"])] * 2

    await decide(gql, w["pro_ref"], "CONFIRMED_FRAUD")
    await decide(gql, w["customer_ref"], "CONFIRMED_FRAUD")
    after = await figures(gql, store, w)
    assert after["customer path"] == after["referee path"] == []
    assert [w["pro_ref"]] not in after["professional path"]
    assert after["alice trusts b"] is False
    assert after["a reciprocity"] == {
        "given": 0, "received": 0, "balance": 0, "convertedGiven": 0, "convertedReceived": 0,
        "valueGiven": 0.0, "valueReceived": 0.0, "partners": []}
    assert after["b reciprocity"]["received"] == 0
    assert after["a trend"] == [{"given": 0, "received": 0}]
    # No longer a partner through a fake referral; of their shared customers only dave counts,
    # not carol, whose hire of b came through it.
    assert after["a partners"][w["b"]] == 1
    assert after["network"]["reciprocity"]["referrals"] == 0
    assert after["network"]["reciprocity"]["givers"][0]["given"] == 0
    assert after["network"]["imbalancedPairs"] == []
    assert after["network"]["gaps"]["topReferrerShare"] == 0.0
    assert w["a"] in [p["id"] for p in after["network"]["gaps"]["passiveMembers"]]
    # The job it converted into no longer counts as a hire in reputation and co-hiring.
    assert (w["carol"], w["b"]) not in after["hires"] and (w["dave"], w["b"]) in after["hires"]
    assert (w["carol"], w["a"]) in after["hires"]
    assert after["referral edges"] == []
    assert sorted(after["co-hiring"]) == sorted([[w["trades"][0]], sorted(w["trades"])])
    # Still listed for those who may read it, with counts false.
    assert after["a given"] == {"totalCount": 1, "nodes": [{"id": w["pro_ref"],
                                                            "counts": False}]}

    await decide(gql, w["pro_ref"], "CLEARED")
    await decide(gql, w["customer_ref"], "CLEARED")
    assert await figures(gql, store, w) == before


CREATE = """mutation($input: CreateReferralInput!) { createReferral(input: $input) {
  referral { id } errors { code } } }"""


async def test_a_fraud_referral_no_longer_blocks_a_new_one_for_the_same_parties(
        gql, world, store):
    w = world
    again = {"referrerId": w["alice"], "professionalId": w["b"], "refereeId": w["bob"]}
    blocked = (await gql.data(CREATE, {"input": again}))["createReferral"]
    assert [e["code"] for e in blocked["errors"]] == ["DUPLICATE"]
    await decide(gql, w["customer_ref"], "CONFIRMED_FRAUD")
    made = (await gql.data(CREATE, {"input": again}))["createReferral"]
    assert made["errors"] == []
    # Cleared while the new one is open, the old referral does not take the key back: the new
    # one still blocks a third, and the decision itself succeeds.
    await decide(gql, w["customer_ref"], "CLEARED")
    third = (await gql.data(CREATE, {"input": again}))["createReferral"]
    assert [e["code"] for e in third["errors"]] == ["DUPLICATE"]


async def test_clearing_an_open_referral_restores_the_duplicate_check(gql, world):
    w = world
    again = {"referrerId": w["alice"], "professionalId": w["b"], "refereeId": w["bob"]}
    await decide(gql, w["customer_ref"], "CONFIRMED_FRAUD")
    await decide(gql, w["customer_ref"], "CLEARED")
    blocked = (await gql.data(CREATE, {"input": again}))["createReferral"]
    assert [e["code"] for e in blocked["errors"]] == ["DUPLICATE"]


async def test_a_decision_refreshes_the_analytics_soon(gql, store, world, caplog):
    """A decision asks the auto-refresh to run now, whatever its count of writes: reputation
    leaves the fraud referral (and the job it converted into) out within a generous bound."""
    await analytics.refresh(store, timeout=120, curated=CURATED)
    before = (await gql.data(REPUTATION, {"id": world["b"]}))["professional"]["reputation"]
    auto = analytics.AutoRefresh(store, every=NEVER_BY_COUNT, curated=CURATED)
    try:
        await decide(gql, world["pro_ref"], "CONFIRMED_FRAUD")
        assert auto.task is not None
        deadline = time.monotonic() + 120
        while True:
            now = (await gql.data(REPUTATION, {"id": world["b"]}))["professional"]["reputation"]
            if now != pytest.approx(before, rel=1e-9, abs=1e-12):
                break
            assert time.monotonic() < deadline, "no refresh followed the decision"
            await asyncio.sleep(0.2)
        assert now < before
        await asyncio.wait_for(auto.task, 120)
        assert auto.refreshes >= 1
    finally:
        await auto.close()


async def test_decisions_during_a_refresh_share_one_more_refresh_after_it(store):
    auto = analytics.AutoRefresh(store, every=NEVER_BY_COUNT, curated=CURATED)
    try:
        auto.soon()
        task = auto.task
        auto.soon()
        auto.soon()
        assert auto.task is task  # joined, not started again
        await asyncio.wait_for(task, 120)
        assert auto.refreshes == 2  # the running one, and one for both requests made meanwhile
    finally:
        await auto.close()
    assert auto.soon not in store.refresh_wanted


async def test_no_refresh_follows_a_decision_when_the_operator_turned_it_off(gql, store, world):
    auto = analytics.AutoRefresh(store, every=0, curated=CURATED)
    try:
        await decide(gql, world["pro_ref"], "CONFIRMED_FRAUD")
        assert auto.task is None and auto.refreshes == 0
    finally:
        await auto.close()


GAPS = """query($id: ID!) { network(id: $id) { gaps { missingTrades { trade demand } } } }"""


async def test_a_job_a_fraud_referral_converted_into_makes_no_gap_demand(gql, make, uid):
    """Carol, a member's customer, hired an outsider through a referral later confirmed as
    fraud: that hire is no demand for the outsider's trade until the decision is cleared."""
    inside, outside = trade(uid), trade(uid)
    member = await make.professional(trades=[inside])
    outsider = await make.professional(trades=[outside])
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=member)
    carol = await make.customer(name="Carol King")
    await make.job(carol, member, rating=4, completedAt="2026-01-02T10:00:00+00:00")
    referral = await make.referral(member, outsider, carol)
    assert (await make.status(referral, "ACCEPTED"))["errors"] == []
    job = await make.job(carol, outsider, rating=5)
    assert (await make.status(referral, "CONVERTED", jobId=job))["errors"] == []

    async def demand() -> int:
        gaps = (await gql.data(GAPS, {"id": net}))["network"]["gaps"]
        return {t["trade"]: t["demand"] for t in gaps["missingTrades"]}.get(outside, 0)

    assert await demand() == 1
    await decide(gql, referral, "CONFIRMED_FRAUD")
    assert await demand() == 0
    await decide(gql, referral, "CLEARED")
    assert await demand() == 1
