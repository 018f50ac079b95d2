"""Spark as the engine for bulk backfills: the session, the Delta seam (native or through delta-rs) and the jobs.

Imported only by code that runs Spark: `make run` needs neither Java nor pyspark (the `spark` extra).
"""
