"""Whole-graph batch jobs on Apache Spark, written with DataFrames and Spark SQL."""
