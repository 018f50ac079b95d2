"""The Spark features job's edges: a lake without the upstream gold marts, and DuckDB's rounding on Spark.

Its parity with the dbt mart (bit for bit) and its refusal of a candidate breaking the mart's row checks are
tested on the shipped path, the `backfill/features` asset through Pipes (tests/integration/test_backfill_pipes.py),
in one Spark run each.
"""

from __future__ import annotations

import pytest

from resources.spark.features_job import FeaturesJobParams, run_features_job


@pytest.mark.slow
def test_without_the_upstream_gold_marts_the_job_names_them_and_what_to_run(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no gold marts fct_prices_daily, .*run `nexus marts` first"):
        run_features_job(spark, FeaturesJobParams(lake_uri=str(tmp_path / "lake")))
    assert not (tmp_path / "lake" / "gold").exists()  # nothing written


@pytest.mark.slow
def test_the_rounding_is_duckdbs_on_ties_negative_zero_and_the_last_digit(spark):
    import duckdb
    from pyspark.sql import functions as F

    from resources.spark.features_job import rounded

    values = [-2.5e-10, 2.5e-10, 1.00000000005, 0.123456789049999999, -1e-11, 1.25e-10, -3.75e-10, 12345.678901234567]
    by_duckdb = [
        row[0] for row in duckdb.execute("select round(v, 10) + 0.0 from unnest(?::double[]) t(v)", [values]).fetchall()
    ]
    frame = spark.createDataFrame([(v,) for v in values], "v double")
    by_spark = [row[0] for row in frame.select(rounded(F.col("v"))).collect()]
    assert [repr(v) for v in by_spark] == [repr(v) for v in by_duckdb]  # repr: -0.0 and 0.0 differ
    assert repr(by_spark[4]) == "0.0"
