"""The analytics refresh on Spark, job by job behind the batch interface of ``graph.analytics``:
``read`` stages the job's tables as Parquet (``graph.staging``), ``compute`` runs the Spark job
(writing large results as Parquet), ``write`` streams the results back with the networkx
engine's statements, a few thousand rows per statement."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from graph import analytics, staging, timeutil
from graph.algorithms import integrity as integrity_algorithms
from graph.algorithms.partners import TradePair
from graph.integrity import IntegrityJob as StoreIntegrity
from graph.spark import candidates, complementarity, reputation, session
from graph.spark import integrity as spark_integrity
from graph.staging import Staging
from graph.store import Store

log = logging.getLogger(__name__)


class SparkJob:
    def __init__(self, spark: SparkSession, stage: Staging, page: int) -> None:
        self.spark = spark
        self.stage = stage
        self.page = page

    def table(self, name: str) -> DataFrame:
        return self.spark.read.parquet(self.stage.path(name))


class ReputationJob(SparkJob):
    """PageRank (``graph.spark.reputation``); stages the professionals for the later jobs."""

    name = "reputation"
    iterations = 0

    async def read(self, store: Store) -> None:
        await self.stage.stage(store, staging.EDGES, self.page)
        await self.stage.stage(store, staging.PROFESSIONAL_TABLE, self.page)

    def compute(self, projection: None) -> str:
        professionals = self.table("professionals")
        ranks = reputation.pagerank(self.table("edges"), professionals)
        self.iterations = ranks.iterations
        path = self.stage.result("reputation")
        reputation.professional_ranks(ranks, professionals).write.parquet(path)
        return "reputation"

    async def write(self, store: Store, results: str) -> int:
        written = 0
        for rows in self.stage.batches(results):
            await store.run_write(analytics.WRITE_REPUTATION, rows=rows)
            written += len(rows)
        return written


class ComplementarityJob(SparkJob):
    """Co-hiring counts in Spark, lifts and scores in the shared pure code."""

    name = "complementarity"

    def __init__(self, spark: SparkSession, stage: Staging, page: int,
                 curated: analytics.Curated) -> None:
        super().__init__(spark, stage, page)
        self.curated = curated

    async def read(self, store: Store) -> None:
        await self.stage.stage(store, staging.HIRED_TRADES, self.page)

    def compute(self, projection: None) -> list[TradePair]:
        return complementarity.complementarity(self.table("hired_trades"), self.curated)

    async def write(self, store: Store, results: list[TradePair]) -> int:
        return await analytics.ComplementarityJob(self.curated).write(store, results)


class TradeCandidatesJob(SparkJob):
    """The candidate pages, ordered by the reputation the job before computed."""

    name = "trade candidates"

    async def read(self, store: Store) -> None:
        return None  # the professionals and their reputation are staged already

    def compute(self, projection: None) -> str:
        pages = candidates.candidate_pages(self.table("professionals"),
                                           self.table("results/reputation"))
        pages.write.parquet(self.stage.result("candidates"))
        return "candidates"

    async def write(self, store: Store, results: str) -> int:
        at = timeutil.to_store(timeutil.now())
        written = 0

        async def replace(tx: Any) -> None:
            # One transaction, as the networkx engine's: readers see old lists or new ones.
            nonlocal written
            written = 0
            await tx.run(analytics.CLEAR_TRADE_CANDIDATES)
            for rows in self.stage.batches(results):
                for r in rows:
                    r["key"] = analytics.candidates_key(r["trade"], r["area"], r["page"])
                    r["at"] = at
                await tx.run(analytics.WRITE_TRADE_CANDIDATES, rows=rows)
                written += len(rows)

        await store.write(replace)
        return written


def integrity_tables(spark: SparkSession, stage: Staging) -> dict[str, DataFrame]:
    """The four tables of the integrity detection on Spark, with the columns of
    ``graph.integrity.projection_of``'s fields."""
    return {
        "referrals": spark.read.parquet(stage.path("referrals")),
        "jobs": spark.read.parquet(stage.path("jobs")),
        "customers": spark.read.parquet(stage.path("customers")).dropDuplicates(["id"]),
        "professionals": spark.read.parquet(stage.path("professionals"))
                         .select("id", "trades", "created"),
    }


def present(tables: Mapping[str, DataFrame], clock: float | None = None) -> float:
    """``graph.integrity.present`` over the staged tables: the latest referral or job, at most
    the clock's now (a job staged without a completion time, at 0, is left out as there)."""
    now = timeutil.now().timestamp() if clock is None else clock
    times = (tables["referrals"].select(F.col("created").alias("t"))
             .union(tables["jobs"].where(F.col("completed") > 0)
                    .select(F.col("completed").alias("t"))))
    latest = reputation.one(times.agg(F.max("t")))[0]
    return now if latest is None else min(now, float(latest))


class IntegrityJob(SparkJob):
    """The integrity detection over the staged referrals, jobs, customers and professionals,
    written back by the networkx engine's integrity job."""

    name = "integrity"

    async def read(self, store: Store) -> None:
        for table in (staging.REFERRALS, staging.CUSTOMERS, staging.JOBS):
            await self.stage.stage(store, table, self.page)

    def compute(self, projection: None) -> integrity_algorithms.Assessment:
        tables = integrity_tables(self.spark, self.stage)
        return spark_integrity.assess(self.spark, tables, present(tables))

    async def write(self, store: Store, results: integrity_algorithms.Assessment) -> int:
        return await StoreIntegrity().write(store, results)


async def refresh(store: Store, curated: analytics.Curated, engine: analytics.AnalyticsEngine,
                  phases: analytics.Phases | None = None) -> tuple[int, int]:
    """Every job of the refresh on Spark: (professionals, trades), as the networkx engine's.
    ``phases`` gets the seconds of ``session`` and of each phase, and PageRank's
    ``iterations``; the run's staging folder is removed whatever happens."""
    phases = {} if phases is None else phases
    started = time.perf_counter()
    spark = await asyncio.to_thread(session.session, engine.spark_master,
                                    engine.shuffle_partitions)
    phases["session"] = phases.get("session", 0.0) + time.perf_counter() - started
    stage = Staging(engine.staging)
    try:
        ranks = ReputationJob(spark, stage, engine.page)
        professionals = await analytics.run(store, ranks, phases)
        phases["iterations"] = ranks.iterations
        trades = await analytics.run(
            store, ComplementarityJob(spark, stage, engine.page, curated), phases)
        await analytics.run(store, TradeCandidatesJob(spark, stage, engine.page), phases)
        await analytics.run(store, IntegrityJob(spark, stage, engine.page), phases)
    finally:
        await asyncio.to_thread(stage.clean)
    log.info("spark analytics", extra={"run": stage.run, "iterations": ranks.iterations})
    return professionals, trades
