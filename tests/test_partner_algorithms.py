"""Partner algorithms on small inputs: hand-computed cases and properties, no store."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.algorithms.partners import (
    PRIOR_STRENGTH,
    CandidateSearch,
    best_complement,
    candidate_lists,
    complement_by_trade,
    complementarity,
    lift_score,
    partner_score,
    shrunk_lift,
)

CURATED_PH = {frozenset({"plumbing", "heating"}): 0.9}


def locksmith_town() -> list[set[str]]:
    """103 customers: 3 hired a locksmith and a heating engineer (4.4 times chance: 5 hired a
    locksmith, 14 heating); 10 of the 14 heating customers hired a plumber too (40 did)."""
    customers: list[set[str]] = [{"locksmith", "heating"} for _ in range(3)]
    customers += [{"locksmith"} for _ in range(2)]
    customers += [{"plumbing", "heating"} for _ in range(10)]
    customers += [{"heating"} for _ in range(1)]
    customers += [{"plumbing"} for _ in range(30)]
    customers += [{"roofing"} for _ in range(103 - len(customers))]
    return customers


def test_a_tiny_sample_does_not_outrank_a_well_supported_curated_pair():
    customers = locksmith_town()
    assert len(customers) == 103
    pairs = {(p.a, p.b): p for p in complementarity(customers, CURATED_PH)}
    lock = pairs["heating", "locksmith"]
    plumb = pairs["heating", "plumbing"]
    assert lock.customers == 3 and round(lock.lift, 1) == 4.4  # the raw figure stays stored
    assert plumb.customers == 10
    assert plumb.score > lock.score
    # Three customers are not evidence: the score is far below what the raw lift would say.
    assert lock.score < lift_score(lock.lift) / 4


def test_the_shrunk_lift_is_a_gamma_poisson_posterior_mean():
    # Prior Gamma(k, k) on the lift (mean 1: no evidence), n co-hires seen where e were expected.
    k = PRIOR_STRENGTH
    assert shrunk_lift(3, 0.68) == (3 + k) / (0.68 + k)
    assert shrunk_lift(0, 0.0) == 1.0
    assert lift_score(1.0) == 0.0 and lift_score(0.5) == 0.0
    assert math.isclose(lift_score(3.0), 0.5)


def test_a_curated_pair_without_learned_evidence_counts_half():
    customers = [{"plumbing"}] * 5 + [{"heating"}] * 5 + [{"roofing"}] * 100
    (pair,) = complementarity(customers, CURATED_PH)
    assert (pair.a, pair.b, pair.customers) == ("heating", "plumbing", 0)
    assert pair.score == 0.45
    # A couple of co-hires (below the support kept on their own) are weak evidence, not none.
    some = [{"plumbing", "heating"}] * 2 + customers
    (weak,) = complementarity(some, CURATED_PH)
    assert weak.customers == 2 and 0.45 < weak.score < 0.5


@settings(max_examples=200, deadline=None)
@given(lift=st.floats(1.01, 50.0), support=st.integers(1, 10_000), more=st.integers(1, 10_000))
def test_the_shrunk_score_grows_with_support_at_fixed_lift(lift, support, more):
    def score(n: int) -> float:
        return lift_score(shrunk_lift(n, n / lift))

    assert score(support) <= score(support + more) + 1e-12
    # Never more than the raw lift says, and never above chance without co-hires beyond it.
    assert score(support) <= lift_score(lift) + 1e-12
    assert 1.0 <= shrunk_lift(support, support / lift) <= lift + 1e-9


@settings(max_examples=100, deadline=None)
@given(lift=st.floats(0.05, 50.0))
def test_the_shrunk_lift_tends_to_the_raw_lift(lift):
    gaps = [abs(shrunk_lift(n, n / lift) - lift) for n in (10, 1_000, 100_000, 10_000_000)]
    assert all(a >= b - 1e-12 for a, b in pairwise(gaps))
    assert gaps[-1] < 1e-4 * max(lift, 1.0)


# ---- candidate search: exact top-k from per-trade lists read best first ---------------------
@st.composite
def markets(draw: st.DrawFn):
    """Professionals with trades, areas and reputations (from small sets, so ties are
    common), a table of complementary trades, and shared-customer evidence for a few."""
    trades = ["a", "b", "c", "d"]
    n = draw(st.integers(0, 40))
    pros = {}
    for i in range(n):
        mine = draw(st.lists(st.sampled_from(trades), min_size=1, max_size=2, unique=True))
        pros[f"q{i:02}"] = (mine, draw(st.sampled_from(["near", "far"])),
                            draw(st.sampled_from([0.0, 0.1, 0.1, 0.5, 0.9, 1.0])))
    table = {frozenset(pair): draw(st.sampled_from([0.0, 0.2, 0.45, 0.9]))
             for pair in [("a", "b"), ("a", "c"), ("b", "c"), ("c", "d")]}
    aa = {q: draw(st.sampled_from([0.0, 0.0, 0.5, 3.0])) for q in pros}
    return pros, {k: v for k, v in table.items() if v > 0}, aa


@settings(max_examples=300, deadline=None)
@given(market=markets(), me=st.sampled_from([["a"], ["a", "c"], ["d"]]),
       limit=st.integers(1, 6), page=st.integers(1, 4), same=st.booleans())
def test_the_candidate_search_finds_the_exact_top(market, me, limit, page, same):
    pros, table, aa = market
    complements = complement_by_trade(me, table, include_same_trade=same)
    lists = candidate_lists((q, t, area, rep) for q, (t, area, rep) in pros.items())

    def score(q: str) -> float | None:
        trades, area, rep = pros[q]
        if not same and set(trades) & set(me):
            return None
        return partner_score(best_complement(me, trades, table)[0], aa[q], rep, area == "near")

    # Every candidate of the definition: shared customers, or a complementary trade (or one of
    # the professional's own trades when they are included).
    wanted = {q for q, (trades, _, _) in pros.items()
              if aa[q] > 0 or any(t in complements for t in trades)}
    brute = sorted((s for q in wanted if (s := score(q)) is not None), reverse=True)[:limit]

    search = CandidateSearch({(t, area): (c, area == "near")
                              for t, c in complements.items() for area in ("near", None)},
                             limit)
    for q in (q for q in pros if aa[q] > 0):  # the neighbourhood, scored up front
        if (s := score(q)) is not None:
            search.score(q, s)
    reads = 0
    while (step := search.next()) is not None:
        (trade, area), number = step
        entries = lists.get((trade, area), [])[number * page : (number + 1) * page]
        more = len(lists.get((trade, area), [])) > (number + 1) * page
        search.read((trade, area), entries, more)
        for q, _ in entries:
            if q not in search.scores and (s := score(q)) is not None:
                search.score(q, s)
        reads += 1
        assert reads <= 2 * len(complements) * (len(pros) // page + 2)
    assert [s for _, s in search.top()] == brute


@settings(max_examples=150, deadline=None)
@given(market=markets(), limit=st.integers(1, 6), page=st.integers(1, 4), n=st.integers(1, 5))
def test_reading_several_lists_at_once_changes_nothing(market, limit, page, n):
    pros, table, aa = market
    me = ["a"]
    complements = complement_by_trade(me, table)
    lists = candidate_lists((q, t, area, rep) for q, (t, area, rep) in pros.items())
    def score(search: CandidateSearch, q: str) -> None:
        trades, where, rep = pros[q]
        if not set(trades) & set(me):
            search.score(q, partner_score(best_complement(me, trades, table)[0], aa[q], rep,
                                          where == "near"))

    answers = []
    for width in (1, n):
        search = CandidateSearch({(t, area): (c, area == "near")
                                  for t, c in complements.items() for area in ("near", None)},
                                 limit)
        for q in pros:
            if aa[q] > 0:
                score(search, q)
        while steps := search.next_reads(width):
            for (trade, area), number in steps:
                entries = lists.get((trade, area), [])
                search.read((trade, area), entries[number * page : (number + 1) * page],
                            len(entries) > (number + 1) * page)
                for q, _ in entries[number * page : (number + 1) * page]:
                    score(search, q)
        answers.append([s for _, s in search.top()])
    assert answers[0] == answers[1]
