"""Partner algorithms on small inputs: hand-computed cases and properties, no store."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.algorithms.partners import (
    PRIOR_STRENGTH,
    complementarity,
    lift_score,
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
