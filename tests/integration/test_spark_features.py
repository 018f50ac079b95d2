"""fct_features_daily on Spark equals the dbt mart, and a candidate breaking the mart's row checks is not committed.

The dbt side is the session's full dbt build (`built_marts`, shared with the mart tests); its marts are published
to a scratch lake's gold, as the nightly gold step does, and the Spark job rebuilds gold/marts/fct_features_daily
there from the published upstream marts.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from resources.lake.delta import content_hash
from resources.lake.gold import publish_to_delta
from resources.lake.storage import LakeStorage
from resources.spark.features_job import INPUTS, MART, FeaturesJobParams, run_features_job
from resources.spark.mart_checks import MartCheckError


def _gold(built_marts, tmp_path) -> LakeStorage:
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    publish_to_delta(storage, built_marts.settings.duckdb_path, [("marts", name) for name in (*INPUTS, MART)])
    return storage


def _params(storage: LakeStorage, built_marts) -> FeaturesJobParams:
    return FeaturesJobParams(lake_uri=storage.root_uri, decision_time_utc=built_marts.settings.decision_time_utc)


@pytest.mark.slow
def test_the_spark_features_equal_the_dbt_mart_bit_for_bit(spark, built_marts, tmp_path):
    storage = _gold(built_marts, tmp_path)
    uri = storage.uri("gold", "marts", MART)
    by_dbt = DeltaTable(uri).to_pyarrow_table()
    version = DeltaTable(uri).version()

    result = run_features_job(spark, _params(storage, built_marts), storage)

    by_spark = DeltaTable(uri).to_pyarrow_table()
    assert DeltaTable(uri).version() == version + 1  # Spark wrote the table, it did not find it unchanged
    assert by_spark.schema == by_dbt.schema
    # every column, floats exactly (the SQL is deterministic once rounded to 1e-10; see features_job.rounded)
    assert content_hash(by_spark) == content_hash(by_dbt)
    assert result.rows == by_dbt.num_rows > 10_000
    # the joins brought every kind of feature, not nulls: positioning (ASOF per symbol), on-chain, energy
    for column in ("ret_250d", "cot_spec_z52", "mvrv", "energy_days_since_release", "vix", "dgs10"):
        assert by_spark[column].null_count < by_spark.num_rows, column


@pytest.mark.slow
def test_a_candidate_breaking_the_row_checks_is_not_committed(spark, built_marts, tmp_path):
    storage = _gold(built_marts, tmp_path)
    prices_uri = storage.uri("gold", "marts", "fct_prices_daily")
    prices = DeltaTable(prices_uri).to_pyarrow_table()
    prices = prices.filter(pc.less(prices["trade_date"], pa.scalar(prices["trade_date"][200].as_py())))
    broken = pc.if_else(pc.is_null(prices["realized_vol_20d"]), None, pa.scalar(50.0))  # range is [0, 10]
    prices = prices.set_column(prices.schema.get_field_index("realized_vol_20d"), "realized_vol_20d", broken)
    write_deltalake(prices_uri, prices, mode="overwrite")
    uri = storage.uri("gold", "marts", MART)
    before = DeltaTable(uri)

    with pytest.raises(MartCheckError, match=r"rvol_20d outside \[0, 10\]: \d+ rows"):
        run_features_job(spark, _params(storage, built_marts), storage)

    after = DeltaTable(uri)
    assert after.version() == before.version()
    assert content_hash(after.to_pyarrow_table()) == content_hash(before.to_pyarrow_table())
    staged = [p for p in (tmp_path / "lake" / "gold" / "marts" / MART).iterdir() if p.name.startswith("backfill-")]
    assert staged == []  # the refused files were deleted


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
