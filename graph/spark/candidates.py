"""Partner candidate lists on Spark: per trade, and per trade and area, the professionals
offering it, best reputation first (to ``RANK_DIGITS`` decimals, then by id), in pages as
``TradeCandidatesJob`` stores."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from graph.algorithms.partners import RANK_DIGITS
from graph.analytics import CANDIDATE_PAGE


def candidate_pages(professionals: DataFrame, reputation: DataFrame,
                    page: int = CANDIDATE_PAGE) -> DataFrame:
    """Rows ``trade``, ``area`` (null: any area), ``page``, ``ids``, ``reputations``, ``more``
    from ``professionals`` (``id``, ``trades``, ``area``) and ``reputation`` (``id``,
    ``value``)."""
    offers = (professionals
              .select("id", "area",
                      F.explode(F.array_distinct(F.coalesce(
                          F.col("trades"), F.array().cast("array<string>")))).alias("trade"))
              .join(reputation, "id", "left")
              .select("id", "trade", "area",
                      F.coalesce(F.col("value"), F.lit(0.0)).alias("reputation")))
    streams = (offers.select("trade", F.lit(None).cast("string").alias("area"), "id",
                             "reputation")
               .unionByName(offers.where(F.col("area").isNotNull())
                            .select("trade", "area", "id", "reputation")))
    stream = Window.partitionBy("trade", "area")
    ranked = (streams
              .withColumn("rank", F.row_number().over(
                  stream.orderBy(F.round("reputation", RANK_DIGITS).desc(), F.col("id").asc())) - 1)
              .withColumn("total", F.count(F.lit(1)).over(stream)))
    pages = (ranked.groupBy("trade", "area", F.floor(F.col("rank") / page).alias("page"),
                            "total")
             .agg(F.array_sort(F.collect_list(F.struct("rank", "id", "reputation")))
                  .alias("entries")))
    return pages.select("trade", "area", F.col("page").cast("long").alias("page"),
                        F.col("entries.id").alias("ids"),
                        F.col("entries.reputation").alias("reputations"),
                        ((F.col("page") + 1) * page < F.col("total")).alias("more"))
