"""The analytics refresh on Apache Spark: the same jobs as ``graph.analytics`` with DataFrames
and SQL only (no RDDs: Spark Connect has none), so that they run unchanged on ``local[*]``, a
``spark://`` cluster or a Spark Connect server (``sc://``). ``jobs`` stages the projection
(``graph.staging``), runs the jobs and writes their results back.
"""
