"""Trade complementarity on Spark: the co-hiring counts, finished by the same pure code as the
networkx engine (:func:`graph.algorithms.partners.complementarity_from_counts`)."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from graph.algorithms import partners


def counts(hired: DataFrame) -> tuple[dict[str, int], dict[tuple[str, str], int], int]:
    """From ``hired`` (``customer``, ``trade``, repeats allowed): customers per trade,
    customers per pair of trades ``(a, b)`` with ``a < b``, and customers; only these
    aggregates (at most trades squared rows) reach the driver."""
    pairs = hired.select("customer", "trade").where(F.col("trade").isNotNull()).distinct()
    pairs = pairs.localCheckpoint()
    single = {r["trade"]: int(r["n"]) for r in
              pairs.groupBy("trade").agg(F.count("*").alias("n")).collect()}
    a, b = pairs.alias("a"), pairs.alias("b")
    both = {(r["ta"], r["tb"]): int(r["n"]) for r in
            a.join(b, F.col("a.customer") == F.col("b.customer"))
            .where(F.col("a.trade") < F.col("b.trade"))
            .groupBy(F.col("a.trade").alias("ta"), F.col("b.trade").alias("tb"))
            .agg(F.count("*").alias("n")).collect()}
    n = pairs.select("customer").distinct().count()
    return single, both, n


def complementarity(hired: DataFrame, curated: Mapping[frozenset[str], float] | None = None,
                    ) -> list[partners.TradePair]:
    """:func:`graph.algorithms.partners.complementarity` of the customers in ``hired``."""
    single, both, n = counts(hired)
    return partners.complementarity_from_counts(single, both, n, curated)
