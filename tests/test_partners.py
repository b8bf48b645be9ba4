"""Partners and gaps: planted scenarios with known answers, properties on generated data."""

from __future__ import annotations

import asyncio
import random

import pytest

from graph import analytics, bulk
from graph.referrals import open_key
from seeds.complementary_trades import CURATED
from seeds.synthetic import synthetic_dataset

RECOMMEND = """query($id: ID!, $limit: Int, $same: Boolean) { professional(id: $id) {
  partnerRecommendations(limit: $limit, includeSameTrade: $same) {
    partner { id trades reputation } score sharedCustomers reasons } } }"""
GAPS = """query($id: ID!) { network(id: $id) { gaps {
  missingTrades { trade demand candidates(limit: 3) { id } }
  unconnectedPairs { a { id } b { id } score }
  passiveMembers { id } topReferrerShare } } }"""
REFRESH = "mutation { refreshAnalytics { professionals trades seconds } }"


def t(day: str) -> str:
    return f"{day}T12:00:00.000000+00:00"


@pytest.fixture
async def planted(store, uid, gql):
    """Trades with names of their own, so that other tests' data cannot blur the signal.
    Ten customers hire the plumber p and the electrician e1 (same area), all of e1's customers;
    four of the tiler's twelve customers hire p too; forty hire only the roofer; e2
    (electrician, elsewhere) has four of its own. x, an electrician, already exchanged a
    referral with p. Network: p, tiler, roofer."""
    tag = uid("x")[-8:].lower()
    pl, el, ti, ro = (f"{name} {tag}" for name in ("plumb", "elec", "tile", "roof"))
    ids = {k: uid("pro") for k in ("p", "p2", "e1", "e2", "tiler", "roofer", "x")}
    trades = {"p": [pl], "p2": [pl], "e1": [el], "e2": [el], "tiler": [ti], "roofer": [ro],
              "x": [el]}
    area = {"e2": f"Far {tag}"}
    data = bulk.Dataset()
    data.professionals = [{"id": v, "name": f"Pro {k}", "trades": trades[k],
                           "area": area.get(k, f"Near {tag}"), "createdAt": t("2025-01-01")}
                          for k, v in ids.items()]
    customers = [uid("cus") for _ in range(66)]
    data.customers = [{"id": c, "name": "Cus Tomer", "area": None, "createdAt": t("2025-01-01")}
                      for c in customers]
    hires = ([(c, "p") for c in customers[:14]] + [(c, "e1") for c in customers[:10]]
             + [(c, "tiler") for c in customers[10:14] + customers[54:62]]
             + [(c, "roofer") for c in customers[14:54]]
             + [(c, "e2") for c in customers[62:66]])
    data.jobs = [{"id": uid("job"), "customerId": c, "professionalId": ids[k],
                  "trade": trades[k][0], "completedAt": t("2026-05-01"), "rating": 5,
                  "value": 100.0, "createdAt": t("2026-05-01")} for c, k in hires]

    def ref(src, dst, referee):
        return {"id": uid("ref"), "referrerId": ids[src], "professionalId": ids[dst],
                "refereeId": referee, "status": "SENT", "verified": False, "note": None,
                "createdAt": t("2026-06-01"), "updatedAt": t("2026-06-01"),
                "statusHistory": ["SENT"], "statusTimes": [t("2026-06-01")],
                "openKey": open_key(ids[src], ids[dst], referee), "jobId": None}

    data.referrals = [ref("x", "p", customers[0]), ref("roofer", "p", customers[15]),
                      ref("roofer", "p", customers[16]), ref("tiler", "roofer", customers[17])]
    net = uid("net")
    data.networks = [{"id": net, "name": "Planted", "createdAt": t("2025-01-01")}]
    data.memberships = [{"networkId": net, "professionalId": ids[k], "since": t("2025-01-02")}
                        for k in ("p", "tiler", "roofer")]
    await bulk.load(store, data)
    done = await gql.data(REFRESH)
    assert done["refreshAnalytics"]["professionals"] >= len(ids)
    return ids, net, customers, el


async def test_the_planted_partner_comes_first(gql, planted):
    ids, _, _, _ = planted
    recs = (await gql.data(RECOMMEND, {"id": ids["p"]}))["professional"][
        "partnerRecommendations"]
    got = [r["partner"]["id"] for r in recs]
    assert got[0] == ids["e1"]
    assert recs[0]["sharedCustomers"] == 10
    # The order of the reasons follows their weight, which depends on the lift over the whole
    # store; both reasons are there.
    assert "10 of your customers also hired Pro e1" in recs[0]["reasons"]
    assert any("complements your" in reason for reason in recs[0]["reasons"])
    assert ids["tiler"] in got and got.index(ids["tiler"]) < got.index(ids["e2"])
    tiler = recs[got.index(ids["tiler"])]
    assert tiler["sharedCustomers"] == 4
    assert ids["p"] not in got and ids["x"] not in got and ids["p2"] not in got
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    same = (await gql.data(RECOMMEND, {"id": ids["p"], "same": True, "limit": 50}))[
        "professional"]["partnerRecommendations"]
    assert ids["p2"] in [r["partner"]["id"] for r in same]
    one = (await gql.data(RECOMMEND, {"id": ids["p"], "limit": 1}))["professional"][
        "partnerRecommendations"]
    assert [r["partner"]["id"] for r in one] == [ids["e1"]]


async def test_reputation_is_stored_and_in_range(gql, planted):
    ids, _, _, _ = planted
    query = "query($a: ID!, $b: ID!) { a: professional(id: $a) { reputation } " \
            "b: professional(id: $b) { reputation } }"
    data = await gql.data(query, {"a": ids["e1"], "b": ids["e2"]})
    assert 1 >= data["a"]["reputation"] > data["b"]["reputation"] > 0


async def test_network_gaps_planted(gql, planted):
    ids, net, _, el = planted
    gaps = (await gql.data(GAPS, {"id": net}))["network"]["gaps"]
    electrical = next(g for g in gaps["missingTrades"] if g["trade"] == el)
    assert electrical["demand"] == 10
    # e1 served ten of the members' customers; e2 and x offer the trade too, by reputation.
    assert [c["id"] for c in electrical["candidates"]] == [ids["e1"], ids["e2"], ids["x"]]
    assert all(g["trade"] != el or g is electrical for g in gaps["missingTrades"])
    demands = [g["demand"] for g in gaps["missingTrades"]]
    assert demands == sorted(demands, reverse=True)
    assert [(p["a"]["id"], p["b"]["id"]) for p in gaps["unconnectedPairs"]] == [
        tuple(sorted((ids["p"], ids["tiler"])))]
    assert [m["id"] for m in gaps["passiveMembers"]] == [ids["p"]]
    assert gaps["topReferrerShare"] == pytest.approx(2 / 3)


async def test_who_reads_partners_and_refreshes(as_, planted):
    ids, net, _, _ = planted
    assert "errors" not in await as_("professional", ids["p"]).post(RECOMMEND, {"id": ids["p"]})
    other = await as_("professional", ids["e1"]).post(RECOMMEND, {"id": ids["p"]})
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in await as_("organiser", None, [net]).post(GAPS, {"id": net})
    refused = await as_("professional", ids["p"]).post(GAPS, {"id": net})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denied = await as_("organiser", None, [net]).post(REFRESH)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_properties_on_generated_data(gql, store):
    data = synthetic_dataset(80, 400, 1200, 300, seed=98)
    await bulk.load(store, data)
    await analytics.refresh(store, curated=CURATED)
    trades = {p["id"]: set(p["trades"]) for p in data.professionals}
    partners: dict[str, set[str]] = {p: set() for p in trades}
    for r in data.referrals:
        if r["referrerId"] in trades:
            partners[r["referrerId"]].add(r["professionalId"])
            partners[r["professionalId"]].add(r["referrerId"])
    for pid in random.Random(3).sample(sorted(trades), 12):
        for limit in (3, 10):
            recs = (await gql.data(RECOMMEND, {"id": pid, "limit": limit}))["professional"][
                "partnerRecommendations"]
            assert len(recs) <= limit
            scores = [r["score"] for r in recs]
            assert scores == sorted(scores, reverse=True)
            for r in recs:
                q = r["partner"]["id"]
                assert q != pid and q not in partners[pid]
                # Candidates may come from other data in the store; the response has their trades.
                assert not set(r["partner"]["trades"]) & trades[pid]
                assert 0 <= r["score"] <= 1 and r["reasons"]
                assert r["sharedCustomers"] >= 0


async def test_analytics_refresh_automatically_after_writes(store, make):
    auto = analytics.AutoRefresh(store, every=2, min_interval=0, curated=CURATED)
    try:
        await make.customer()
        assert auto.task is None
        await make.customer()
        assert auto.task is not None
        await asyncio.wait_for(auto.task, 120)
        assert auto.refreshes == 1
    finally:
        await auto.close()
    # Within the minimum interval, enough writes still wait for their turn.
    patient = analytics.AutoRefresh(store, every=1, min_interval=3600, curated=CURATED)
    try:
        await make.customer()
        await make.customer()
        assert patient.task is None and patient.changes == 2
    finally:
        await patient.close()

