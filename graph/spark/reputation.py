"""Reputation on Spark: networkx's PageRank (``nx.pagerank``, its SciPy power iteration)
replicated step for step with joins, so that it gives the same figures.

- Nodes: the professionals and every endpoint of an edge (customers and referrers too).
- Edges: weights summed per ``(source, target)``, each row divided by its source's out-weight.
- Start at ``x = 1 / N``; a node with no out-weight is dangling, and its mass is spread over all
  nodes uniformly (networkx's default, without personalization or a dangling dict).
- Each round ``x = alpha * (x A + dangling_sum / N) + (1 - alpha) / N``; it stops once the L1
  change is below ``N * tol`` and fails with ``PowerIterationFailedConvergence`` after
  ``max_iter`` rounds, as networkx does. The result is scaled so that the best node has 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

ALPHA = 0.85
TOL = 1e-6
MAX_ITER = 100


@dataclass(frozen=True)
class Ranks:
    """``ranks`` (``id``, ``value``: scaled so that the best is 1) over ``nodes`` nodes,
    after ``iterations`` rounds."""

    ranks: DataFrame
    nodes: int
    iterations: int


def one(frame: DataFrame) -> Row:
    """The single row of an aggregate."""
    row = frame.first()
    assert row is not None
    return row


def pagerank(edges: DataFrame, professionals: DataFrame, alpha: float = ALPHA,
             tol: float = TOL, max_iter: int = MAX_ITER) -> Ranks:
    """PageRank over ``edges`` (``source``, ``target``, ``weight``) and the nodes ``id`` of
    ``professionals``, as :func:`graph.algorithms.partners.reputation` computes it."""
    summed = edges.groupBy("source", "target").agg(F.sum("weight").alias("w"))
    out = summed.groupBy("source").agg(F.sum("w").alias("out"))
    ids = (professionals.select("id")
           .union(summed.select(F.col("source").alias("id")))
           .union(summed.select(F.col("target").alias("id"))).distinct())
    nodes = (ids.join(out, ids.id == out.source, "left")
             .select("id", (F.coalesce(F.col("out"), F.lit(0.0)) == 0).alias("dangling"))
             .localCheckpoint())
    n = nodes.count()
    if n == 0:
        return Ranks(nodes.select("id", F.lit(0.0).alias("value")), 0, 0)
    matrix = (summed.join(out, "source")
              .select(F.col("source").alias("src"), F.col("target").alias("dst"),
                      (F.col("w") / F.col("out")).alias("a"))
              .where(F.col("out") != 0).localCheckpoint())
    x = nodes.select("id", "dangling", F.lit(1.0 / n).alias("x"))
    dangling_sum = float(one(x.where("dangling").agg(F.sum("x")))[0] or 0.0)
    for iteration in range(1, max_iter + 1):
        flow = (matrix.join(x.select(F.col("id").alias("src"), F.col("x").alias("xs")), "src")
                .groupBy("dst").agg(F.sum(F.col("a") * F.col("xs")).alias("s")))
        new = (x.join(flow, x.id == flow.dst, "left")
               .select("id", "dangling",
                       (F.lit(alpha) * (F.coalesce(F.col("s"), F.lit(0.0))
                                        + F.lit(dangling_sum / n))
                        + F.lit((1 - alpha) / n)).alias("x"),
                       F.col("x").alias("last"))
               .localCheckpoint())  # cuts the lineage: each round starts from data
        err, dangling = one(new.agg(F.sum(F.abs(F.col("x") - F.col("last"))),
                                    F.sum(F.when(F.col("dangling"), F.col("x"))
                                          .otherwise(0.0))))
        x = new.select("id", "dangling", "x")
        dangling_sum = float(dangling or 0.0)
        if err < n * tol:
            top = float(one(x.agg(F.max("x")))[0])
            value = F.col("x") / F.lit(top) if top > 0 else F.lit(0.0)
            return Ranks(x.select("id", value.alias("value")), n, iteration)
    raise nx.PowerIterationFailedConvergence(max_iter)


def professional_ranks(ranks: Ranks, professionals: DataFrame) -> DataFrame:
    """Every professional's reputation (``id``, ``value``), 0 for one PageRank never saw."""
    return (professionals.select("id").distinct()
            .join(ranks.ranks, "id", "left")
            .select("id", F.coalesce(F.col("value"), F.lit(0.0)).alias("value")))
