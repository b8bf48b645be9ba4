"""Reciprocity: exact figures on a hand-made network (loaded with explicit times), invariants
on generated data, and properties of the pure functions."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph import bulk
from graph.algorithms.reciprocity import (
    balances,
    imbalanced_pairs,
    member_graph,
    reciprocity_coefficient,
)
from graph.referrals import open_key
from seeds.synthetic import synthetic_dataset

BALANCE = """query($id: ID!, $since: DateTime, $until: DateTime) {
  professional(id: $id) { reciprocity(since: $since, until: $until) {
    given received balance convertedGiven convertedReceived valueGiven valueReceived
    partners { partner { id } given received balance } } } }"""
NETWORK = """query($id: ID!, $since: DateTime, $until: DateTime, $gap: Int) {
  network(id: $id) { reciprocity(since: $since, until: $until) { referrals coefficient
      givers(limit: 10) { professional { id } given received balance }
      takers(limit: 2) { professional { id } balance } }
    imbalancedPairs(minGap: $gap) { a { id } b { id } aToB bToA gap } } }"""
TREND = """query($id: ID!, $months: Int) { professional(id: $id) {
  reciprocityTrend(months: $months) { month given received balance } } }"""


def t(day: str) -> str:
    return f"{day}T12:00:00.000000+00:00"


@pytest.fixture
async def network(store, uid):
    """Members a, b, c, d; outsider o. Referrals between professionals:
    a->b on Jan 10 (CONVERTED, job worth 100), Feb 10 (DECLINED), Mar 10 (SENT);
    b->a Feb 15; a->c Mar 20; c->o twice (Apr); o->a Apr 5; and a customer's referral to a."""
    pro = {k: uid("pro") for k in "abcdo"}
    cus = [uid("cus") for _ in range(8)]
    net = uid("net")
    data = bulk.Dataset()
    data.professionals = [{"id": v, "name": f"Pro {k}", "trades": ["plumbing"], "area": None,
                           "createdAt": t("2025-01-01")} for k, v in pro.items()]
    data.customers = [{"id": c, "name": "Cus Tomer", "area": None, "createdAt": t("2025-01-01")}
                      for c in cus]
    data.networks = [{"id": net, "name": "Circle", "createdAt": t("2025-01-01")}]
    data.memberships = [{"networkId": net, "professionalId": pro[k], "since": t("2025-01-02")}
                        for k in "abcd"]
    job = uid("job")
    data.jobs = [{"id": job, "customerId": cus[0], "professionalId": pro["b"], "trade": "plumbing",
                  "completedAt": t("2026-01-20"), "rating": 5, "value": 100.0,
                  "createdAt": t("2026-01-20")}]

    def ref(src: str, dst: str, referee: str, day: str, status: str, job_id=None) -> dict:
        history = {"CONVERTED": ["SENT", "ACCEPTED", "CONVERTED"], "DECLINED": ["SENT", "DECLINED"],
                   "SENT": ["SENT"]}[status]
        return {"id": uid("ref"), "referrerId": src, "professionalId": dst, "refereeId": referee,
                "status": status, "verified": False, "note": None, "createdAt": t(day),
                "updatedAt": t(day), "statusHistory": history,
                "statusTimes": [t(day)] * len(history),
                "openKey": open_key(src, dst, referee) if status == "SENT" else None,
                "jobId": job_id}

    data.referrals = [
        ref(pro["a"], pro["b"], cus[0], "2026-01-10", "CONVERTED", job),
        ref(pro["a"], pro["b"], cus[1], "2026-02-10", "DECLINED"),
        ref(pro["a"], pro["b"], cus[2], "2026-03-10", "SENT"),
        ref(pro["b"], pro["a"], cus[3], "2026-02-15", "SENT"),
        ref(pro["a"], pro["c"], cus[4], "2026-03-20", "SENT"),
        ref(pro["c"], pro["o"], cus[5], "2026-04-01", "SENT"),
        ref(pro["c"], pro["o"], cus[6], "2026-04-02", "SENT"),
        ref(pro["o"], pro["a"], cus[7], "2026-04-05", "SENT"),
        ref(cus[1], pro["a"], cus[2], "2026-04-06", "SENT"),
    ]
    await bulk.load(store, data)
    return pro, net


async def test_professional_balance_exact(gql, network):
    pro, _ = network
    a = (await gql.data(BALANCE, {"id": pro["a"]}))["professional"]["reciprocity"]
    assert (a["given"], a["received"], a["balance"]) == (4, 2, 2)
    assert (a["convertedGiven"], a["convertedReceived"]) == (1, 0)
    assert (a["valueGiven"], a["valueReceived"]) == (100.0, 0.0)
    tied = sorted([pro["c"], pro["o"]])
    expected = {pro["b"]: (3, 1, 2), pro["c"]: (1, 0, 1), pro["o"]: (0, 1, -1)}
    assert [p["partner"]["id"] for p in a["partners"]] == [pro["b"], *tied]
    for p in a["partners"]:
        assert (p["given"], p["received"], p["balance"]) == expected[p["partner"]["id"]]
    b = (await gql.data(BALANCE, {"id": pro["b"]}))["professional"]["reciprocity"]
    assert (b["given"], b["received"], b["convertedReceived"], b["valueReceived"]) == (1, 3, 1,
                                                                                      100.0)
    d = (await gql.data(BALANCE, {"id": pro["d"]}))["professional"]["reciprocity"]
    assert (d["given"], d["received"], d["partners"]) == (0, 0, [])


async def test_professional_balance_window(gql, network):
    pro, _ = network
    feb = (await gql.data(BALANCE, {"id": pro["a"], "since": t("2026-02-01"),
                                    "until": t("2026-03-10")}))["professional"]["reciprocity"]
    # [since, until): Feb 10 and Feb 15 count, Mar 10 does not.
    assert (feb["given"], feb["received"], feb["convertedGiven"]) == (1, 1, 0)
    bad = await gql.post(BALANCE, {"id": pro["a"], "since": t("2026-03-01"),
                                   "until": t("2026-02-01")})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_network_reciprocity_exact(gql, network):
    pro, net = network
    data = (await gql.data(NETWORK, {"id": net, "gap": 1}))["network"]
    rec = data["reciprocity"]
    assert rec["referrals"] == 5
    assert math.isclose(rec["coefficient"], 2 / 3)
    givers = [(g["professional"]["id"], g["given"], g["received"], g["balance"])
              for g in rec["givers"]]
    order = [pro["a"], pro["d"], pro["c"], pro["b"]]
    assert givers == [(p, *{pro["a"]: (4, 1, 3), pro["b"]: (1, 3, -2), pro["c"]: (0, 1, -1),
                            pro["d"]: (0, 0, 0)}[p]) for p in order]
    assert sum(g["balance"] for g in rec["givers"]) == 0  # a closed network sums to zero
    assert [(x["professional"]["id"], x["balance"]) for x in rec["takers"]] == [
        (pro["b"], -2), (pro["c"], -1)]
    pairs = [(p["a"]["id"], p["b"]["id"], p["aToB"], p["bToA"], p["gap"])
             for p in data["imbalancedPairs"]]
    assert pairs == [(pro["a"], pro["b"], 3, 1, 2), (pro["a"], pro["c"], 1, 0, 1)]
    feb = (await gql.data(NETWORK, {"id": net, "since": t("2026-02-01"),
                                    "until": t("2026-03-01")}))["network"]
    assert (feb["reciprocity"]["referrals"], feb["reciprocity"]["coefficient"]) == (2, 1.0)
    assert feb["imbalancedPairs"] == []  # minGap 3 by default


async def test_network_without_referrals(gql, make):
    net = await make.network()
    rec = (await gql.data(NETWORK, {"id": net}))["network"]["reciprocity"]
    assert (rec["referrals"], rec["coefficient"], rec["givers"]) == (0, 0.0, [])


async def test_trend_by_calendar_month(gql, network):
    pro, _ = network
    now = datetime.now(UTC)
    span = min(120, now.year * 12 + now.month - (2026 * 12 + 1) + 1)  # back to January 2026
    months = (await gql.data(TREND, {"id": pro["a"], "months": span}))["professional"][
        "reciprocityTrend"]
    assert len(months) == span
    labels = [m["month"] for m in months]
    assert labels == sorted(labels) and len(set(labels)) == span
    assert labels[-1] == now.strftime("%Y-%m")
    by_month = {m["month"]: (m["given"], m["received"], m["balance"]) for m in months}
    assert by_month.get("2026-01") == (1, 0, 1)
    assert by_month.get("2026-02") == (1, 1, 0)
    assert by_month.get("2026-03") == (2, 0, 2)
    assert by_month.get("2026-04") == (0, 1, -1)
    assert sum(m["given"] for m in months) == 4
    for months_arg in (0, 121):
        body = await gql.post(TREND, {"id": pro["a"], "months": months_arg})
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert len((await gql.data(TREND, {"id": pro["a"]}))["professional"][
        "reciprocityTrend"]) == 12


async def test_who_reads_reciprocity(as_, network):
    pro, net = network
    assert "errors" not in await as_("professional", pro["a"]).post(BALANCE, {"id": pro["a"]})
    assert "errors" not in await as_("organiser", None, [net]).post(BALANCE, {"id": pro["a"]})
    assert "errors" not in await as_("organiser", None, [net]).post(NETWORK, {"id": net})
    for client in (as_("professional", pro["b"]), as_("organiser", None, ["net_other"])):
        body = await client.post(BALANCE, {"id": pro["a"]})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    member = await as_("professional", pro["a"]).post(NETWORK, {"id": net})
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_invariants_on_generated_data(gql, store):
    data = synthetic_dataset(40, 200, 400, 300, seed=97)
    await bulk.load(store, data)
    checked = 0
    for network in data.networks:
        rec = (await gql.data(NETWORK, {"id": network["id"]}))["network"]["reciprocity"]
        every = (await gql.data(
            "query($id: ID!) { network(id: $id) { reciprocity { givers(limit: 50) "
            "{ given received balance } } members(first: 100) { totalCount } } }",
            {"id": network["id"]}))["network"]
        rows = every["reciprocity"]["givers"]
        assert len(rows) == min(50, every["members"]["totalCount"])
        if every["members"]["totalCount"] <= 50:
            assert sum(r["given"] for r in rows) == sum(r["received"] for r in rows)
            assert sum(r["given"] for r in rows) == rec["referrals"]
            assert sum(r["balance"] for r in rows) == 0
            checked += 1
    assert checked and rec["referrals"] > 0
    # Over all professionals, what is given is received.
    pros = [p["id"] for p in data.professionals]
    given = received = 0
    for pid in pros:
        b = (await gql.data(BALANCE, {"id": pid}))["professional"]["reciprocity"]
        given, received = given + b["given"], received + b["received"]
        assert b["given"] == sum(p["given"] for p in b["partners"])
    pro_to_pro = sum(1 for r in data.referrals if r["referrerId"].startswith("pro_"))
    assert given == received == pro_to_pro


edges = st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdef"),
                           st.integers(1, 4)), max_size=25)


@given(edges=edges)
def test_balances_sum_to_zero_and_coefficient_counts_pairs(edges):
    G = member_graph("abcdef", edges)
    assert sum(b.balance for b in balances(G)) == 0
    ordered = {(a, b) for a, b, _ in edges if a != b}
    mutual = {(a, b) for a, b in ordered if (b, a) in ordered}
    expected = len(mutual) / len(ordered) if ordered else 0.0
    assert math.isclose(reciprocity_coefficient(G), expected)
    if G.number_of_edges():
        assert math.isclose(reciprocity_coefficient(G), nx.overall_reciprocity(G))


@given(edges=edges, min_gap=st.integers(1, 6))
def test_imbalanced_pairs_are_exact(edges, min_gap):
    G = member_graph("abcdef", edges)
    count: dict[tuple[str, str], int] = {}
    for a, b, n in edges:
        if a != b:
            count[a, b] = count.get((a, b), 0) + n
    found = imbalanced_pairs(G, min_gap)
    gaps = [p.gap for p in found]
    assert gaps == sorted(gaps, reverse=True)
    expected = {frozenset(k) for k in count
                if abs(count.get(k, 0) - count.get(k[::-1], 0)) >= min_gap}
    assert {frozenset((p.a, p.b)) for p in found} == expected
    for p in found:
        assert p.a_to_b == count.get((p.a, p.b), 0) and p.b_to_a == count.get((p.b, p.a), 0)
        assert p.gap >= min_gap
