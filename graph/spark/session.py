"""The SparkSession of the analytics refresh, built from a master URL."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

# The refresh's tables are small next to a cluster's: a few partitions keep the per-task
# overhead, which dominates at these sizes, low.
SHUFFLE_PARTITIONS = 4
APP_NAME = "referral-graph analytics"


def session(master: str, shuffle_partitions: int = SHUFFLE_PARTITIONS) -> SparkSession:
    """The session on ``master``: ``local[...]`` and ``spark://`` start (or reuse) a driver in
    this process, with its web UI off; ``sc://`` connects to a Spark Connect server."""
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        builder = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
        if master.startswith("local"):
            # Local Python workers run this interpreter, which has this package and pandas
            # (not whichever python3 comes first on the PATH).
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = builder.config("spark.pyspark.python", sys.executable)
    return (builder.appName(APP_NAME)
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions)).getOrCreate())


def local(master: str = "local[2]") -> SparkSession:
    """A small local session, as the tests use: two shuffle partitions."""
    return session(master, shuffle_partitions=2)
