"""The integrity signals on Spark give the reference's assessment: on the planted scenes (each
pattern and its look-alikes) and on small random worlds, findings, strengths and scores."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.algorithms import integrity as I
from graph.spark import integrity as S
from tests.integrity_scenes import DAY, NOW, Scene
from tests.test_integrity_algorithms import world, worlds

pyspark = pytest.importorskip("pyspark")
from pyspark.sql import DataFrame, SparkSession  # noqa: E402

REFERRALS = ("id string, referrer string, by_professional boolean, professional string, "
             "referee string, created double, status string, converted boolean, review string")
JOBS = "customer string, professional string, trade string, completed double, rating int"
CUSTOMERS = "id string, created double"
PROFESSIONALS = "id string, trades array<string>, created double"
# Each example is a Spark run of a few seconds.
EXAMPLES = 3


def tables_of(spark: SparkSession, projection: I.Projection) -> dict[str, DataFrame]:
    """The projection as the DataFrames :func:`graph.spark.integrity.assess` reads."""
    pros = set(projection.professionals) | set(projection.professional_created)
    return {
        "referrals": spark.createDataFrame(
            [(r.id, r.referrer, r.by_professional, r.professional, r.referee, r.created,
              r.status, r.converted, r.review) for r in projection.referrals], REFERRALS),
        "jobs": spark.createDataFrame(
            [(j.customer, j.professional, j.trade, j.completed, j.rating)
             for j in projection.jobs], JOBS),
        "customers": spark.createDataFrame(list(projection.customer_created.items()),
                                           CUSTOMERS),
        "professionals": spark.createDataFrame(
            [(p, list(projection.professionals.get(p, ())),
              projection.professional_created.get(p)) for p in sorted(pros)], PROFESSIONALS),
    }


def assert_same(got: I.Assessment, want: I.Assessment) -> None:
    for kind in ("professionals", "referrals"):
        mine, theirs = getattr(got, kind), getattr(want, kind)
        assert mine.keys() == theirs.keys(), kind
        for node, (score, found) in theirs.items():
            other_score, other = mine[node]
            assert math.isclose(other_score, score, abs_tol=1e-9), (kind, node)
            assert [f.signal for f in other] == [f.signal for f in found], (kind, node)
            for a, b in zip(other, found, strict=True):
                assert math.isclose(a.strength, b.strength, abs_tol=1e-9), (kind, node, a, b)
                assert (a.flagged, a.referrals, a.involved, a.explanation) == (
                    b.flagged, b.referrals, b.involved, b.explanation), (kind, node)


def both(spark: SparkSession, projection: I.Projection) -> tuple[I.Assessment, I.Assessment]:
    return S.assess(spark, tables_of(spark, projection), projection.now), I.assess(projection)


# ---- planted scenes --------------------------------------------------------------------------
def planted(seed: int, kinds: tuple[str, ...]) -> Scene:
    s = Scene(seed=seed)
    organic = s.background(pros=20, customers=80)
    for kind in kinds:
        make = getattr(s, kind)
        make(targets=organic) if kind in ("hollow", "burst", "busy_referrer",
                                            "new_member_burst") else make()
    return s


SCENES = {
    "every planted pattern": (0, ("ring", "reciprocal_pair", "no_outcomes", "hollow", "burst")),
    "look-alikes beside fraud": (2, ("partners", "partner_loop", "busy_referrer",
                                     "new_member_burst", "ring", "hollow")),
}


@pytest.mark.parametrize("name", SCENES)
def test_the_planted_scenes_get_the_reference_assessment(spark, name):
    seed, kinds = SCENES[name]
    projection = planted(seed, kinds).projection()
    got, want = both(spark, projection)
    assert_same(got, want)
    if name == "every planted pattern":
        found = {f.signal for _, fs in want.professionals.values() for f in fs}
        assert found == set(I.SIGNALS)


def test_cleared_referrals_and_missing_facts_are_read_as_the_reference_reads_them(spark):
    # A cleared ring, a ring of professionals with no trades and no creation time, referees
    # without a creation time, confirmed fraud counted as evidence.
    s = Scene(seed=3)
    s.background(pros=12, customers=40)
    cleared = s.ring(size=3, per_edge=6)
    bare = s.ring(size=4, per_edge=5)
    fraud = s.ring(size=3, per_edge=4)
    for r in s.referrals:
        if r["referrerId"] in cleared:
            r["review"] = "CLEARED"
        if r["referrerId"] in fraud:
            r["review"] = "CONFIRMED_FRAUD"
    p = s.projection()
    projection = I.Projection(
        p.referrals, p.jobs,
        {c: t for i, (c, t) in enumerate(p.customer_created.items()) if i % 3},
        {k: (() if k in bare else v) for k, v in p.professionals.items()},
        {k: v for k, v in p.professional_created.items() if k not in bare}, p.now)
    got, want = both(spark, projection)
    assert_same(got, want)
    assert set(bare) | set(fraud) <= set(want.professionals)


def test_the_job_uses_no_rdd_api_so_it_runs_on_spark_connect():
    source = Path(S.__file__).read_text()
    assert ".rdd" not in source and ".sparkContext" not in source
    assert "SparkContext" not in source


# ---- random worlds ---------------------------------------------------------------------------
def loud(rows: list[tuple], extra: int) -> I.Projection:
    """A random world with a planted ring, a reciprocal pair, a burst of hollow referees and
    referrals that never convert on top, so that most signals fire in most examples."""
    base = world(rows)
    refs = list(base.referrals)
    created = dict(base.customer_created)
    for i in range(3 * (3 + extra)):  # a ring p0 -> p1 -> p2 -> p0
        refs.append(I.Referral(f"g{i}", f"p{i % 3}", True, f"p{(i + 1) % 3}", f"g{i}",
                               NOW - (20 + i % 5) * DAY, "SENT"))
        created[f"g{i}"] = NOW - (20 + i % 5) * DAY - 600
    for i in range(8 + extra):  # p3 <-> p4, nothing following
        there, back = ("p3", "p4") if i % 2 else ("p4", "p3")
        refs.append(I.Referral(f"x{i}", there, True, back, f"x{i}", NOW - (50 + i) * DAY,
                               "EXPIRED"))
    for i in range(10 + 2 * extra):  # p5's week
        refs.append(I.Referral(f"b{i}", "p5", True, "p0", f"b{i}", NOW - (80 + i / 4) * DAY,
                               "EXPIRED"))
        created[f"b{i}"] = NOW - (80 + i / 4) * DAY - 3600
    for i in range(12):  # p2's customers' referrals convert: the trade's rate is learned
        refs.append(I.Referral(f"w{i}", "c7", False, "p2", f"w{i}", NOW - (100 + i) * DAY,
                               "CONVERTED", converted=True))
    for i in range(25 + extra):  # p1's never do
        refs.append(I.Referral(f"n{i}", "c6", False, "p1", f"n{i}", NOW - (60 + i) * DAY,
                               "EXPIRED"))
    return I.Projection(refs, (), created, base.professionals, {}, NOW)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=worlds)
def test_random_worlds_get_the_reference_assessment(spark, rows):
    assert_same(*both(spark, world(rows)))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=worlds, extra=st.integers(0, 6))
def test_random_worlds_with_planted_patterns_get_the_reference_assessment(spark, rows, extra):
    projection = loud(rows, extra)
    got, want = both(spark, projection)
    assert_same(got, want)
