"""Integrity signals as pure functions: properties against brute force on small graphs, and
scenes where each planted pattern is found and each legitimate look-alike is not."""

from __future__ import annotations

import math
from itertools import permutations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.algorithms import integrity as I
from seeds.fraud import planted_dataset
from seeds.synthetic import SYNTHETIC_NOW
from tests.integrity_scenes import DAY, NOW, Scene, projection_of

FLAG = 0.5

# ---- properties ------------------------------------------------------------------------------
nodes = st.sampled_from("abcdef")
digraphs = st.lists(st.tuples(nodes, nodes), max_size=16).map(
    lambda edges: nx.DiGraph([(u, v) for u, v in edges if u != v]))


def brute_loops(G: nx.DiGraph, lo: int, hi: int) -> set[tuple[str, ...]]:
    """Every simple cycle of lo..hi nodes, by trying every ordering of every node subset."""
    found = set()
    for k in range(lo, hi + 1):
        for order in permutations(sorted(G.nodes), k):
            if all(G.has_edge(order[i], order[(i + 1) % k]) for i in range(k)):
                i = order.index(min(order))
                found.add(order[i:] + order[:i])
    return found


@settings(max_examples=50, deadline=None)
@given(digraphs, st.integers(3, 5))
def test_loops_are_exactly_the_simple_cycles_of_bounded_length(G, hi):
    found = I.loops(G, 3, hi)
    assert len(found) == len({tuple(c) for c in found})  # each once
    assert {tuple(c) for c in found} == brute_loops(G, 3, hi)


referral_edges = st.lists(st.tuples(nodes, nodes, st.integers(1, 4)), max_size=14)


@settings(max_examples=50, deadline=None)
@given(referral_edges)
def test_exclusive_pairs_match_a_direct_count(edges):
    refs = [I.Referral(f"r{i}_{j}", u, True, v, f"c{i}", 0.0, "SENT")
            for i, (u, v, n) in enumerate(edges) if u != v for j in range(n)]
    G = I.referral_digraph(refs)
    made = {p: sum(1 for r in refs if r.referrer == p) for p in "abcdef"}
    between = {(u, v): sum(1 for r in refs if (r.referrer, r.professional) == (u, v))
               for u in "abcdef" for v in "abcdef"}
    expected = sorted(
        (u, v, min(between[u, v] / made[u], between[v, u] / made[v]))
        for u in "abcdef" for v in "abcdef" if u < v and between[u, v] and between[v, u])
    assert I.exclusive_pairs(G) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=20), st.floats(0, 30))
def test_busiest_window_matches_brute_force(times, width):
    times = sorted(times)
    i, j = I.busiest_window(times, width)
    best = max((sum(1 for t in times[a:] if t - times[a] <= width) for a in range(len(times))),
               default=0)
    assert j - i == best
    assert all(times[k] - times[i] <= width for k in range(i, j))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.floats(0.01, 0.99))
def test_binomial_tail_matches_the_sum(k, n, p):
    k = min(k, n)
    direct = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert math.isclose(math.exp(I.log_binomial_upper(k, n, p)), direct, rel_tol=1e-9,
                        abs_tol=1e-300)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=6))
def test_noisy_or_stays_in_range_and_is_at_least_the_strongest(strengths):
    combined = I.noisy_or(strengths)
    assert 0.0 <= combined <= 1.0
    assert combined >= max(strengths, default=0.0) - 1e-12


# Small random worlds: a few professionals and customers, referrals between them.
worlds = st.lists(
    st.tuples(st.integers(0, 5), st.booleans(), st.integers(0, 5), st.integers(0, 7),
              st.floats(0, 60), st.sampled_from(["SENT", "EXPIRED", "DECLINED", "CONVERTED"]),
              st.sampled_from([None, None, "CLEARED", "CONFIRMED_FRAUD"])),
    max_size=40)


def world(rows: list[tuple]) -> I.Projection:
    refs = []
    for i, (a, by_pro, p, c, day, status, review) in enumerate(rows):
        referrer = f"p{a}" if by_pro else f"c{a}"
        if by_pro and a == p:
            continue
        refs.append(I.Referral(f"r{i}", referrer, by_pro, f"p{p}", f"c{c}",
                               NOW - day * DAY, status, converted=status == "CONVERTED",
                               review=review))
    return I.Projection(refs, (), {f"c{c}": NOW - 70 * DAY + c * 10 * DAY for c in range(8)},
                        {f"p{p}": ("plumbing",) for p in range(6)}, {}, NOW)


@settings(max_examples=40, deadline=None)
@given(worlds)
def test_findings_are_well_formed_and_cleared_referrals_count_nowhere(rows):
    projection = world(rows)
    cleared = {r.id for r in projection.referrals if r.review == "CLEARED"}
    known = {r.id for r in projection.referrals}
    for f in I.findings(projection):
        assert f.signal in I.SIGNALS
        assert 0.0 < f.strength <= 1.0
        assert f.flagged and f.referrals and f.explanation
        assert len(f.involved) <= I.MAX_INVOLVED
        assert set(f.referrals) <= known - cleared
    assessed = I.assess(projection)
    assert not cleared & set(assessed.referrals)
    for score, found in [*assessed.professionals.values(), *assessed.referrals.values()]:
        assert 0.0 < score <= 1.0
        assert math.isclose(score, I.noisy_or(f.strength for f in found), abs_tol=1e-4)
        assert [f.strength for f in found] == sorted((f.strength for f in found), reverse=True)
    # Leaving the cleared referrals out altogether gives the same result.
    kept = I.Projection([r for r in projection.referrals if r.id not in cleared], (),
                        projection.customer_created, projection.professionals, {}, NOW)
    assert I.assess(kept) == assessed


# ---- scenes ----------------------------------------------------------------------------------
def score(assessed: I.Assessment, professional: str) -> float:
    return assessed.professionals.get(professional, (0.0, []))[0]


def signals(assessed: I.Assessment, professional: str) -> set[str]:
    return {f.signal for f in assessed.professionals.get(professional, (0.0, []))[1]}


@pytest.fixture(params=[0, 1, 2])
def scene(request) -> Scene:
    s = Scene(seed=request.param)
    s.organic = s.background()
    return s


def test_a_ring_is_found_with_a_checkable_explanation(scene):
    ring = scene.ring(size=4, per_edge=9, days=9)
    found = I.ring(scene.projection())
    assert len(found) == 1
    f = found[0]
    assert set(f.flagged) == set(ring)
    assert f.explanation.startswith("4 professionals referred 36 referees around a loop")
    times = [r.created for r in scene.projection().referrals if r.referrer in ring]
    assert f" in {(max(times) - min(times)) / DAY:.0f} days;" in f.explanation
    assert "0 confirmed jobs followed from 36 referrals" in f.explanation
    assert len(f.referrals) == 36 and len(f.involved) == I.MAX_INVOLVED
    assessed = I.assess(scene.projection())
    assert all(score(assessed, m) >= FLAG for m in ring)


@pytest.mark.parametrize("size", [3, 5, 8])
def test_rings_of_three_to_eight_are_found(scene, size):
    ring = scene.ring(size=size, per_edge=5, days=12)
    assert {m for f in I.ring(scene.projection()) for m in f.flagged} == set(ring)


def test_a_reciprocal_only_pair_is_found(scene):
    pair = scene.reciprocal_pair(each=10)
    assessed = I.assess(scene.projection())
    for p in pair:
        assert score(assessed, p) >= FLAG and I.RECIPROCAL_ONLY in signals(assessed, p)



def test_hollow_referees_are_found(scene):
    p = scene.hollow(count=12, targets=scene.organic)
    assessed = I.assess(scene.projection())
    assert score(assessed, p) >= FLAG and I.HOLLOW_REFEREES in signals(assessed, p)
    # The professionals it referred the hollow referees to are not implicated.
    assert not any(score(assessed, q) >= FLAG for q in scene.organic)


def test_a_burst_is_found(scene):
    p = scene.burst(count=25, targets=scene.organic)
    assessed = I.assess(scene.projection())
    assert score(assessed, p) >= FLAG and I.BURST in signals(assessed, p)


def test_referrals_without_outcomes_are_found(scene):
    p = scene.no_outcomes(count=40)
    assessed = I.assess(scene.projection())
    assert score(assessed, p) >= FLAG and I.NO_OUTCOMES in signals(assessed, p)
    f = next(f for f in assessed.professionals[p][1] if f.signal == I.NO_OUTCOMES)
    assert f.explanation.startswith("0 confirmed jobs followed from 40 referrals")


def test_organic_activity_alone_is_not_flagged(scene):
    assessed = I.assess(scene.projection())
    assert not [p for p in scene.organic if score(assessed, p) >= FLAG]


@pytest.mark.parametrize("kind", ["partners", "partner_loop", "busy_referrer",
                                  "new_member_burst"])
def test_look_alikes_are_not_flagged(scene, kind):
    make = getattr(scene, kind)
    found = make() if kind in ("partners", "partner_loop") else [make(targets=scene.organic)]
    # Planted fraud elsewhere in the same graph changes nothing for them.
    scene.ring(size=4, per_edge=6)
    scene.hollow(count=10, targets=scene.organic)
    assessed = I.assess(scene.projection())
    assert all(p not in assessed.professionals for p in found), [
        assessed.professionals[p] for p in found if p in assessed.professionals]


def test_a_cleared_ring_contributes_to_no_finding(scene):
    ring = scene.ring(size=4, per_edge=9)
    for r in scene.referrals:
        if r["referrerId"] in ring:
            r["review"] = "CLEARED"
    assessed = I.assess(scene.projection())
    assert not set(ring) & set(assessed.professionals)
    cleared = {r["id"] for r in scene.referrals if r["review"] == "CLEARED"}
    assert not cleared & set(assessed.referrals)


def test_confirmed_fraud_still_counts_as_evidence(scene):
    ring = scene.ring(size=3, per_edge=8)
    for r in scene.referrals:
        if r["referrerId"] in ring:
            r["review"] = "CONFIRMED_FRAUD"
    assessed = I.assess(scene.projection())
    assert all(score(assessed, m) >= FLAG for m in ring)


def test_a_referral_score_combines_the_findings_that_cover_it(scene):
    ring = scene.ring(size=4, per_edge=9)
    assessed = I.assess(scene.projection())
    rid = next(r["id"] for r in scene.referrals if r["referrerId"] == ring[0])
    value, found = assessed.referrals[rid]
    assert {f.signal for f in found} >= {I.RING, I.HOLLOW_REFEREES}
    assert value == pytest.approx(I.noisy_or(f.strength for f in found), abs=1e-4)


# ---- measured on planted networks ----------------------------------------------------------
@pytest.mark.parametrize(("seed", "share"), [(4, 0.01), (5, 0.02), (6, 0.03), (7, 0.04),
                                             (8, 0.05)])
def test_planted_fraud_is_found_with_precision_and_recall_of_at_least_0_9(seed, share):
    """The synthetic generator's planted fraud among organic activity and look-alikes; the
    store-backed measure is in tests/test_integrity_precision.py."""
    data, truth = planted_dataset(600, 3000, 6000, 3000, seed=seed, share=share)
    assessed = I.assess(projection_of(data, SYNTHETIC_NOW.timestamp()))
    flagged = {p for p, (value, _) in assessed.professionals.items() if value >= FLAG}
    precision, recall = truth.precision_recall(flagged)
    assert precision >= 0.9, sorted(flagged - truth.fraudulent.keys())
    assert recall >= 0.9, truth.fraudulent.keys() - flagged
    assert not flagged & set(truth.lookalikes)
