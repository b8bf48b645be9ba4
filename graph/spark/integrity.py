"""Integrity on Spark: the signals of :mod:`graph.algorithms.integrity`, with the same findings.

:func:`assess` takes the detection projection as DataFrames and returns the same
:class:`~graph.algorithms.integrity.Assessment` as the reference's ``assess`` of the same data
(flagged professionals and referrals, signals, strengths, scores and explanations). It uses
DataFrames and Spark SQL only (no RDD API, no ``sparkContext``), so it runs unchanged on
``local[*]``, a standalone cluster and Spark Connect; the executors need this package importable
for the per-party functions.

How the work is split:

- The facts every signal reads are columns of one table of referrals (CLEARED reviews left
  out): the responsible party, whether the referral is decided, the eight decided/converted
  counts its expected conversions are made of (:func:`~graph.algorithms.integrity.shrunk_rate`
  turns them into the same float as the reference), whether its referee has a life of its own,
  who refers the referee and when the referee was created.
- HOLLOW_REFEREES, NO_OUTCOMES and BURST run per party on the executors (the referrals
  partitioned and sorted by party, read with ``mapInPandas``) by calling the reference's own
  per-party functions. BURST needs everybody's referrals in each candidate window: the
  candidates come from a first pass, are few, and are counted with a broadcast range join
  against all referral times.
- Only small things reach the driver: global counts (parties, lifeless and hollow referees),
  the two middle weekly rates for the peers' median, the candidate pairs, the candidate ring
  edges with their referrals and the members' activity, and the findings.
- RECIPROCAL_ONLY: out-weights and reciprocated pairs by joins; pairs exclusive enough and busy
  enough are collected with their referrals and finished by the reference's code.
- RING: rings narrowed to candidates in Spark, finished with networkx on the candidate
  subgraph. Barren edges (>= ``RING_EDGE`` referrals, none converted) are pruned of nodes
  without a barren in- and out-edge until nothing changes (a node on a loop keeps both), and
  what is left is handed to the reference's :func:`~graph.algorithms.integrity.loops` and
  :func:`~graph.algorithms.integrity.ring_findings`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import networkx as nx
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from graph.algorithms import integrity as I

FINDINGS = T.StructType([
    T.StructField("signal", T.StringType()),
    T.StructField("strength", T.DoubleType()),
    T.StructField("explanation", T.StringType()),
    T.StructField("flagged", T.ArrayType(T.StringType())),
    T.StructField("involved", T.ArrayType(T.StringType())),
    T.StructField("referrals", T.ArrayType(T.StringType())),
])
PARTIES = T.StructType([
    T.StructField("party", T.StringType()),
    T.StructField("referrals", T.LongType()),
    T.StructField("weekly", T.DoubleType()),
    T.StructField("hollow", T.LongType()),
    T.StructField("lifeless", T.LongType()),
    T.StructField("candidate", T.BooleanType()),
    T.StructField("start", T.DoubleType()),
    T.StructField("until", T.DoubleType()),
    T.StructField("appeared", T.DoubleType()),
])
# The counts of decided referrals (and their conversions) that Facts.rate reads, in the order
# shrunk_rate takes them: everybody's, the party's own, the trade's, the party's in the trade.
SCOPES = ("all", "own", "trade", "own_trade")
COUNTS = tuple(f"{kind}_{scope}" for scope in SCOPES for kind in ("done", "won"))
# What the per-party functions read of each referral.
COLUMNS = ("id", "referrer", "by_professional", "professional", "referee", "created", "status",
           "converted", "review", "responsible", "decided", *COUNTS, "alive", "referred_by",
           "referee_created", "responsible_created")


# ---- the referrals with their facts ------------------------------------------------------------
def referral_facts(tables: Mapping[str, DataFrame], now: float) -> DataFrame:
    """Every referral not CLEARED with the columns in ``COLUMNS``."""
    refs = (tables["referrals"]
            .where(F.coalesce(F.col("review") != I.CLEARED, F.lit(True)))
            .withColumn("responsible", F.when(F.col("by_professional"), F.col("referrer"))
                        .otherwise(F.col("professional")))
            .withColumn("decided", F.lit(now) - F.col("created") >= F.lit(I.MATURITY)))
    pros = tables["professionals"]
    trades = pros.select(F.col("id").alias("professional"),
                         F.try_element_at("trades", F.lit(1)).alias("trade"))
    refs = (refs.join(trades, "professional", "left")
            .withColumn("trade", F.coalesce(F.col("trade"), F.lit(""))))
    refs = refs.join(pros.select(F.col("id").alias("responsible"),
                                 F.col("created").alias("responsible_created")),
                     "responsible", "left")
    refs = _with_counts(refs)
    return refs.join(_referees(tables, refs), "referee", "left").select(*COLUMNS)


def _with_counts(refs: DataFrame) -> DataFrame:
    """``refs`` with the decided/won counts of ``COUNTS``, keyed as ``Facts`` keys them:
    (party or "", trade or ""), each decided referral counted once under each of its four keys
    (so that, as there, a referral of no trade counts twice under the key of no trade)."""
    empty = F.lit("")
    keys = [(empty, empty), (F.col("responsible"), empty), (empty, F.col("trade")),
            (F.col("responsible"), F.col("trade"))]
    exploded = refs.where("decided").select(
        F.explode(F.array(*(F.struct(p.alias("kp"), t.alias("kt")) for p, t in keys)))
        .alias("key"), "converted")
    counts = (exploded.groupBy(F.col("key.kp").alias("kp"), F.col("key.kt").alias("kt"))
              .agg(F.count(F.lit(1)).alias("done"),
                   F.sum(F.col("converted").cast("long")).alias("won")))

    # Everybody's counts per trade (tiny: one row a trade) with the overall ones beside them,
    # broadcast; the party's own per (party, trade) with its overall ones beside them. A
    # decided referral finds both its keys; an undecided one reads none of them.
    def scoped(scope: str, key: str) -> list[Column]:
        return [F.col(f"{key}.done").alias(f"done_{scope}"),
                F.col(f"{key}.won").alias(f"won_{scope}")]

    c = counts.alias("c")
    everybody = (c.where(F.col("c.kp") == "").crossJoin(
        counts.where((F.col("kp") == "") & (F.col("kt") == "")).alias("a"))
        .select(F.col("c.kt").alias("trade"), *scoped("all", "a"), *scoped("trade", "c")))
    own = (c.join(counts.where(F.col("kt") == "").alias("o"), F.col("c.kp") == F.col("o.kp"))
           .select(F.col("c.kp").alias("responsible"), F.col("c.kt").alias("trade"),
                   *scoped("own", "o"), *scoped("own_trade", "c")))
    refs = refs.join(F.broadcast(everybody), "trade", "left").join(
        own, ["responsible", "trade"], "left")
    return refs.fillna(0, subset=list(COUNTS))


def _referees(tables: Mapping[str, DataFrame], refs: DataFrame) -> DataFrame:
    """Per referee: who refers it, whether it has a life of its own (a confirmed job or a
    referral it made) and when it was created."""
    referred = refs.groupBy("referee").agg(F.collect_set("responsible").alias("referred_by"))
    hired = tables["jobs"].select(F.col("customer").alias("referee"))
    refers = refs.where(~F.col("by_professional")).select(F.col("referrer").alias("referee"))
    alive = hired.union(refers).distinct().withColumn("alive", F.lit(True))
    created = tables["customers"].select(F.col("id").alias("referee"),
                                         F.col("created").alias("referee_created"))
    return (referred.join(alive, "referee", "left").join(created, "referee", "left")
            .withColumn("alive", F.coalesce(F.col("alive"), F.lit(False))))


def activity(tables: Mapping[str, DataFrame], refs: DataFrame) -> DataFrame:
    """Each professional's whole activity (``Facts.activity``): confirmed jobs, referrals
    naming it, referrals it made."""
    named = refs.select(F.col("professional").alias("party"))
    made = refs.where("by_professional").select(F.col("referrer").alias("party"))
    jobs = tables["jobs"].select(F.col("professional").alias("party"))
    return jobs.unionAll(named).unionAll(made).groupBy("party").agg(
        F.count(F.lit(1)).alias("activity"))


# ---- rows back into the reference's terms ------------------------------------------------------
def _known(value: Any) -> Any:
    """None for a missing value, whether Spark's None or pandas' NaN."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def referral_of(row: Any) -> I.Referral:
    review = _known(row.review)
    return I.Referral(str(row.id), str(row.referrer), bool(row.by_professional),
                      str(row.professional), str(row.referee), float(row.created),
                      str(row.status), converted=bool(row.converted),
                      review=None if review is None else str(review))


def evidence_of(rows: Iterable[Any], lifeless_rate: float,
                activity: Mapping[str, int] | None = None) -> I.Evidence:
    """The :class:`~graph.algorithms.integrity.Evidence` about the referrals of ``rows``."""
    expectation: dict[str, float] = {}
    alive: set[str] = set()
    referred_by: dict[str, frozenset[str]] = {}
    created: dict[str, float] = {}
    for row in rows:
        expectation[str(row.id)] = (I.shrunk_rate(*(int(getattr(row, c)) for c in COUNTS))
                                    if row.decided else 0.0)
        if row.alive:
            alive.add(str(row.referee))
        referred_by[str(row.referee)] = frozenset(str(p) for p in row.referred_by)
        if (at := _known(row.referee_created)) is not None:
            created[str(row.referee)] = float(at)
    return I.Evidence(lifeless_rate, expectation, alive, referred_by, created, activity or {})


def _ordered(rows: Iterable[Any]) -> list[I.Referral]:
    return sorted((referral_of(row) for row in rows), key=lambda r: (r.created, r.id))


def finding_of(row: Any) -> I.Finding:
    return I.Finding(row.signal, row.strength, row.explanation, tuple(row.flagged),
                     tuple(row.involved), tuple(row.referrals))


def _row(f: I.Finding) -> dict[str, Any]:
    return {"signal": f.signal, "strength": f.strength, "explanation": f.explanation,
            "flagged": list(f.flagged), "involved": list(f.involved),
            "referrals": list(f.referrals)}


# ---- per party: HOLLOW_REFEREES, NO_OUTCOMES, BURST ---------------------------------------------
def per_party(refs: DataFrame, fn: Callable[[list[Any]], list[dict[str, Any]]],
              schema: T.StructType) -> DataFrame:
    """``fn`` of each party's referral rows, on the executors: the rows of a party are brought
    together and read in one pass per partition (``mapInPandas``), which costs far less per
    party than a pandas frame per group (``applyInPandas``)."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        out: list[dict[str, Any]] = []
        party: str | None = None
        rows: list[Any] = []
        for batch in batches:
            for row in batch.itertuples(index=False):
                if row.responsible != party:
                    if rows:
                        out.extend(fn(rows))
                    party, rows = row.responsible, []
                rows.append(row)
        if rows:
            out.extend(fn(rows))
        yield pd.DataFrame(out, columns=schema.fieldNames())

    grouped = refs.repartition("responsible").sortWithinPartitions("responsible")
    return grouped.mapInPandas(run, schema)  # type: ignore[arg-type]


def party_stats(rows: list[Any]) -> list[dict[str, Any]]:
    """One party's counts for the global baselines, and its BURST candidate window."""
    rs = _ordered(rows)
    party = rs[0].responsible
    evidence = evidence_of(rows, math.nan)  # the usual lifeless share is not read here
    candidate = I.burst_candidate(rs, _known(rows[0].responsible_created))
    start = candidate[0][0].created if candidate else None
    return [{
        "party": party, "referrals": len(rs),
        "weekly": I.weekly_rate(rs) if len(rs) >= 2 else 0.0,
        "hollow": sum(evidence.hollow(r) for r in rs),
        "lifeless": sum(evidence.lifeless(r, (r.responsible,)) for r in rs),
        "candidate": candidate is not None, "start": start,
        "until": None if start is None else start + I.BURST_WINDOW,
        "appeared": candidate[1] if candidate else None}]


def party_findings(lifeless_rate: float, p0: float, tests: int,
                   peers: float) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """The per-party finishing function: HOLLOW_REFEREES, BURST and NO_OUTCOMES of one party's
    referrals (with its window's counts, ``inside`` and ``since``, when it has a candidate)."""

    def finish(rows: list[Any]) -> list[dict[str, Any]]:
        rs = _ordered(rows)
        party = rs[0].responsible
        evidence = evidence_of(rows, lifeless_rate)
        found = [I.hollow_finding(party, rs, evidence, p0, tests),
                 I.no_outcomes_finding(party, rs, evidence, tests)]
        inside = _known(rows[0].inside)
        candidate = I.burst_candidate(rs, _known(rows[0].responsible_created))
        if inside is not None and candidate is not None:
            window, _ = candidate
            found.append(I.burst_finding(party, rs, window, int(inside), int(rows[0].since),
                                         peers, tests, evidence))
        return [_row(f) for f in found if f is not None]

    return finish


def median_of(values: DataFrame, column: str, count: int) -> float:
    """``statistics.median`` of a column of ``count`` values, reading only the middle ones."""
    middle = (values.select(column).orderBy(column).offset((count - 1) // 2)
              .limit(2 - count % 2).collect())
    if count % 2:
        return float(middle[0][0])
    return (float(middle[0][0]) + float(middle[1][0])) / 2


def window_counts(refs: DataFrame, stats: DataFrame) -> DataFrame:
    """Per BURST candidate: everybody's referrals inside its window (both ends included) and
    since the party appeared, by a range join of the (few, broadcast) candidates with every
    referral's time."""
    candidates = stats.where("candidate").select("party", "start", "until", "appeared")
    times = refs.select("created")
    joined = times.join(F.broadcast(candidates), F.col("created") >= F.col("appeared"))
    within = (F.col("created") >= F.col("start")) & (F.col("created") <= F.col("until"))
    return joined.groupBy(F.col("party").alias("responsible")).agg(
        F.sum(within.cast("long")).alias("inside"), F.count(F.lit(1)).alias("since"))


# ---- pairs and rings ---------------------------------------------------------------------------
def professional_edges(refs: DataFrame) -> DataFrame:
    """Professional-to-professional edges: referrals on each and whether any converted."""
    return refs.where("by_professional").groupBy(
        F.col("referrer").alias("u"), F.col("professional").alias("v")).agg(
        F.count(F.lit(1)).alias("n"), F.max(F.col("converted").cast("int")).alias("converted"))


def reciprocal_candidates(edges: DataFrame) -> DataFrame:
    """Pairs ``u < v`` referring each other with (about) the exclusivity and volume
    RECIPROCAL_ONLY asks for; the exact test is the reference's, on the driver."""
    out = edges.groupBy("u").agg(F.sum("n").alias("out"))
    there = edges.select("u", "v", F.col("n").alias("n_uv"))
    back = edges.select(F.col("v").alias("u"), F.col("u").alias("v"), F.col("n").alias("n_vu"))
    pairs = (there.where(F.col("u") < F.col("v")).join(back, ["u", "v"])
             .join(out.select("u", F.col("out").alias("out_u")), "u")
             .join(out.select(F.col("u").alias("v"), F.col("out").alias("out_v")), "v"))
    share = F.least(F.col("n_uv") / F.col("out_u"), F.col("n_vu") / F.col("out_v"))
    return pairs.where((share >= 0.8 - 1e-9) & (F.col("n_uv") + F.col("n_vu") >= 6))


def ring_candidates(edges: DataFrame) -> DataFrame:
    """Barren edges between distinct professionals, pruned until every endpoint has a barren
    in- and out-edge: every loop of barren edges survives whole.

    An edge ``u -> v`` stays while ``u`` has a barren in-edge and ``v`` a barren out-edge (its
    own edge gives ``u`` its out-edge and ``v`` its in-edge)."""
    # Each round is checkpointed (lazily: its count computes it): a plan nesting the last
    # round's twice per round would grow exponentially with the rounds.
    barren = edges.where((F.col("n") >= I.RING_EDGE) & (F.col("converted") == 0)
                         & (F.col("u") != F.col("v"))).select("u", "v").localCheckpoint(False)
    size = barren.count()
    while size:
        sources = barren.select(F.col("u").alias("v")).distinct()
        targets = barren.select(F.col("v").alias("u")).distinct()
        kept = (barren.join(sources, "v", "left_semi").join(targets, "u", "left_semi")
                .select("u", "v").localCheckpoint(False))
        now = kept.count()
        barren = kept
        if now == size:
            break
        size = now
    return barren


def pair_and_ring_findings(spark: SparkSession, tables: Mapping[str, DataFrame],
                           refs: DataFrame, lifeless_rate: float) -> tuple[list[I.Finding],
                                                                           list[I.Finding]]:
    """RING and RECIPROCAL_ONLY findings, finished on the driver over the candidates."""
    edges = professional_edges(refs).localCheckpoint()
    pairs = sorted(reciprocal_candidates(edges).collect(), key=lambda p: (p.u, p.v))
    rings = [(e.u, e.v) for e in ring_candidates(edges).collect()]
    wanted = {*rings, *((p.u, p.v) for p in pairs), *((p.v, p.u) for p in pairs)}
    if not wanted:
        return [], []
    members = sorted({m for edge in wanted for m in edge})
    wanted_df = spark.createDataFrame(sorted(wanted), "referrer string, professional string")
    rows = (refs.where("by_professional")
            .join(F.broadcast(wanted_df), ["referrer", "professional"], "left_semi").collect())
    members_df = spark.createDataFrame([(m,) for m in members], "party string")
    active = {row.party: int(row.activity) for row in
              activity(tables, refs).join(F.broadcast(members_df), "party", "left_semi")
              .collect()}
    evidence = evidence_of(rows, lifeless_rate, active)
    G = I.referral_digraph(referral_of(row) for row in rows)
    barren = nx.DiGraph(rings)
    ring = I.ring_findings(G, barren, evidence)
    reciprocal = []
    for p in pairs:
        share = min(p.n_uv / p.out_u, p.n_vu / p.out_v)
        found = I.reciprocal_finding(p.u, p.v, G[p.u][p.v]["referrals"],
                                     G[p.v][p.u]["referrals"], share, evidence)
        if found is not None:
            reciprocal.append(found)
    return ring, sorted(reciprocal, key=lambda f: -f.strength)


# ---- all of it ---------------------------------------------------------------------------------
def findings(spark: SparkSession, tables: Mapping[str, DataFrame], now: float
             ) -> list[I.Finding]:
    """Every signal's findings, in the reference's order (:data:`I.DETECTORS`)."""
    # Checkpointed rather than cached: every later plan starts from a scan of the facts, not
    # from their joins (plans, and the driver's work on them, stay small).
    refs = referral_facts(tables, now).localCheckpoint()
    stats = per_party(refs, party_stats, PARTIES).localCheckpoint()
    totals = stats.agg(F.count(F.lit(1)).alias("parties"),
                       F.coalesce(F.sum("referrals"), F.lit(0)).alias("referrals"),
                       F.coalesce(F.sum("hollow"), F.lit(0)).alias("hollow"),
                       F.coalesce(F.sum("lifeless"), F.lit(0)).alias("lifeless"),
                       F.count(F.when(F.col("referrals") >= 2, 1)).alias("weekly")).first()
    assert totals is not None
    lifeless_rate = min(0.9, (totals.lifeless + 1) / (totals.referrals + 2))
    p0 = I.hollow_share(totals.hollow, totals.referrals)
    tests = max(1, totals.parties)
    peers = (median_of(stats.where(F.col("referrals") >= 2), "weekly", totals.weekly)
             if totals.weekly else 1.0)
    counted = refs.join(window_counts(refs, stats), "responsible", "left")
    finish = party_findings(lifeless_rate, p0, tests, peers)
    parties = [finding_of(row) for row in per_party(counted, finish, FINDINGS).collect()]
    ring, reciprocal = pair_and_ring_findings(spark, tables, refs, lifeless_rate)

    def of(signal: str) -> list[I.Finding]:
        # As the reference: parties in order, then the strongest first (a stable sort).
        mine = sorted((f for f in parties if f.signal == signal), key=lambda f: f.flagged)
        return sorted(mine, key=lambda f: -f.strength)

    return [*ring, *reciprocal, *of(I.HOLLOW_REFEREES), *of(I.BURST), *of(I.NO_OUTCOMES)]


def assess(spark: SparkSession, tables: dict[str, DataFrame], now: float) -> I.Assessment:
    """The integrity assessment of the projection in ``tables``, as
    :func:`graph.algorithms.integrity.assess` gives it.

    Parameters
    ----------
    spark : SparkSession
        Local, a cluster's or a Spark Connect session.
    tables : dict
        ``referrals`` (id, referrer, by_professional, professional, referee, created, status,
        converted, review), ``jobs`` (customer, professional, trade, completed, rating),
        ``customers`` (id, created) and ``professionals`` (id, trades, created); times are
        seconds since the epoch.
    now : float
        The projection's present.

    Returns
    -------
    Assessment
        Scores and findings per flagged professional and per covered referral.
    """
    return I.assessment_of(findings(spark, tables, now))

