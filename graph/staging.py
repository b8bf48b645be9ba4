"""The analytics projection staged as Parquet, for an engine that runs outside this process.

Each table is read out of the store a page of professionals at a time (``graph.analytics
.row_pages``: keyset pages of ids, one statement per page), and each page is written as one
Parquet file under ``<staging>/<run>/<table>/``, so that this process holds one page, never the
graph. Results come back the same way: the engine writes Parquet under ``<run>/results/``, and
:meth:`Staging.batches` streams it in record batches of a few thousand rows. The run's folder is
removed afterwards (:meth:`Staging.clean`).

``staging`` is a local path or a URI that every executor of the engine reads (``file://``,
``s3://``, ``hdfs://``: whatever pyarrow's filesystems and the cluster's Hadoop both know).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from graph import analytics, integrity, timeutil
from graph.algorithms.partners import OUTCOME_WEIGHT, hire_weight
from graph.store import Row, Store

# The professionals of every job at once: reputation's nodes, the candidates' offers and the
# integrity detection's trades and ages.
PROFESSIONALS = """
UNWIND $ids AS id
MATCH (p:Professional {id: id})
RETURN p.id AS id, p.trades AS trades, p.area AS area, p.createdAt AS createdAt
"""


def _seconds(value: str | None) -> float | None:
    return None if value is None else timeutil.from_store(value).timestamp()


def _hires(rows: list[Row]) -> list[Row]:
    return [{"source": r["source"], "target": r["target"], "weight": hire_weight(r["rating"])}
            for r in rows]


def _referral_edges(rows: list[Row]) -> list[Row]:
    return [{"source": r["source"], "target": r["target"],
             "weight": OUTCOME_WEIGHT[r["status"]]} for r in rows]


def _professionals(rows: list[Row]) -> list[Row]:
    return [{"id": r["id"], "trades": list(r["trades"] or []), "area": r["area"],
             "created": _seconds(r["createdAt"])} for r in rows]


def _referrals(by_professional: bool) -> Callable[[list[Row]], list[Row]]:
    def rows_of(rows: list[Row]) -> list[Row]:
        return [{"id": r["id"], "referrer": r["referrer"], "by_professional": by_professional,
                 "professional": r["professional"], "referee": r["referee"],
                 "created": timeutil.from_store(r["createdAt"]).timestamp(),
                 "status": r["status"], "converted": bool(r["converted"]),
                 "review": r["review"]} for r in rows]

    return rows_of


def _referees(rows: list[Row]) -> list[Row]:
    found = {r["referee"]: _seconds(r["refereeCreated"]) for r in rows}
    return [{"id": k, "created": v} for k, v in found.items()]


def _jobs(rows: list[Row]) -> list[Row]:
    # As graph.integrity.projection_of reads them: no trade is "", no completion time is 0.
    return [{"customer": r["customer"], "professional": r["professional"],
             "trade": r["trade"] or "", "completed": _seconds(r["completedAt"]) or 0.0,
             "rating": r["rating"]} for r in rows]


@dataclass(frozen=True)
class Table:
    """One staged table: its columns, and the statements (anchored on a page of professional
    ids) whose rows, turned into the columns' values, fill it."""

    name: str
    schema: pa.Schema
    sources: tuple[tuple[str, Callable[[list[Row]], list[Row]]], ...]


EDGES = Table("edges", pa.schema([("source", pa.string()), ("target", pa.string()),
                                  ("weight", pa.float64())]),
              ((analytics.HIRING_EDGES, _hires), (analytics.REFERRAL_EDGES, _referral_edges)))
HIRED_TRADES = Table("hired_trades", pa.schema([("customer", pa.string()),
                                                ("trade", pa.string())]),
                     ((analytics.HIRED_TRADES, list),))
PROFESSIONAL_TABLE = Table(
    "professionals", pa.schema([("id", pa.string()), ("trades", pa.list_(pa.string())),
                                ("area", pa.string()), ("created", pa.float64())]),
    ((PROFESSIONALS, _professionals),))
# The integrity detection's tables, with the fields graph.integrity.projection_of builds.
REFERRALS = Table(
    "referrals", pa.schema([("id", pa.string()), ("referrer", pa.string()),
                            ("by_professional", pa.bool_()), ("professional", pa.string()),
                            ("referee", pa.string()), ("created", pa.float64()),
                            ("status", pa.string()), ("converted", pa.bool_()),
                            ("review", pa.string())]),
    ((integrity.PROFESSIONAL_REFERRALS, _referrals(True)),
     (integrity.CUSTOMER_REFERRALS, _referrals(False))))
# The referees (a customer referred for professionals of several pages is staged once per
# page, with the same creation time: readers drop the repeats).
CUSTOMERS = Table("customers", pa.schema([("id", pa.string()), ("created", pa.float64())]),
                  ((integrity.PROFESSIONAL_REFERRALS, _referees),
                   (integrity.CUSTOMER_REFERRALS, _referees)))
JOBS = Table("jobs", pa.schema([("customer", pa.string()), ("professional", pa.string()),
                                ("trade", pa.string()), ("completed", pa.float64()),
                                ("rating", pa.int64())]),
             ((integrity.CONFIRMED_JOBS, _jobs),))
TABLES = (EDGES, HIRED_TRADES, PROFESSIONAL_TABLE, REFERRALS, CUSTOMERS, JOBS)


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).resolve())


class Staging:
    """One run's folder under ``root``: staged tables in, results out."""

    def __init__(self, root: str, run: str | None = None) -> None:
        self.run = run or uuid.uuid4().hex
        self.fs, base = _filesystem(root)
        self.base = f"{base.rstrip('/')}/{self.run}"
        # What the engine is given: the URI as configured, or the local folder's absolute path.
        self.uri = (f"{root.rstrip('/')}/{self.run}" if "://" in root else self.base)
        self.files: dict[str, int] = {}

    def path(self, table: str) -> str:
        """Where the engine reads ``table`` (or writes the result named ``results/...``)."""
        return f"{self.uri}/{table}"

    def result(self, name: str) -> str:
        return self.path(f"results/{name}")

    async def stage(self, store: Store, table: Table, page: int = analytics.PAGE) -> int:
        """Read ``table`` out of the store a page at a time, a Parquet file per page; the
        number of rows. An empty table still gets one (empty) file, so that it has columns."""
        folder = f"{self.base}/{table.name}"
        self.fs.create_dir(folder, recursive=True)
        count = files = 0
        for query, convert in table.sources:
            async for rows in analytics.row_pages(store, query, page):
                values = convert(rows)
                if not values:
                    continue
                self._write(f"{folder}/part-{files:05d}.parquet", values, table.schema)
                files += 1
                count += len(values)
        if files == 0:
            self._write(f"{folder}/part-00000.parquet", [], table.schema)
            files = 1
        self.files[table.name] = files
        return count

    def _write(self, path: str, rows: list[Row], schema: pa.Schema) -> None:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, filesystem=self.fs)

    def batches(self, name: str, size: int = analytics.BATCH) -> Iterator[list[dict[str, Any]]]:
        """The rows of the result ``name`` (Parquet the engine wrote), ``size`` at a time."""
        found = ds.dataset(f"{self.base}/results/{name}", format="parquet", filesystem=self.fs)
        for batch in found.to_batches(batch_size=size):
            if batch.num_rows:
                yield batch.to_pylist()

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of a staged table, a batch at a time."""
        found = ds.dataset(f"{self.base}/{table}", format="parquet", filesystem=self.fs)
        for batch in found.to_batches(batch_size=analytics.BATCH):
            yield from batch.to_pylist()

    def clean(self) -> None:
        """Remove the run's folder, staged tables and results alike."""
        info = self.fs.get_file_info(self.base)
        if info.type != pafs.FileType.NotFound:
            self.fs.delete_dir(self.base)
