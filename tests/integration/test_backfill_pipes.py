"""The backfill and features assets run their Spark job through Dagster Pipes (a subprocess here) and report
what it did."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import DagsterInstance, materialize
from deltalake import DeltaTable, write_deltalake

from assets.backfill.assets import FEATURES, SparkBackfillLauncher, build_backfill_asset
from resources.lake.delta import content_hash, read_table
from resources.lake.gold import publish_to_delta
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.fred import write_scaled_files
from resources.sources.registry import ingest_source
from resources.spark.entrypoint import SPARK_CONF_ENV
from resources.spark.features_job import INPUTS, MART
from resources.spark.plans import plans_for
from resources.spark.session import TINY_DATA_CONF


@pytest.mark.slow
def test_the_backfill_asset_runs_the_spark_job_through_pipes(storage, settings, tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv(SPARK_CONF_ENV, json.dumps(TINY_DATA_CONF))  # the subprocess's session, sized for tiny data
    write_scaled_files(tmp_path / "fred", settings.seed, date(2023, 2, 28), series=1, years=3)  # ~780 rows
    ingest_source("fred", storage, settings, run_id="n1", start=None, end=None, files=[tmp_path / "fred"])
    spec = plans_for("fred")[0].spec
    nightly = read_table(storage, spec)

    asset = build_backfill_asset("fred")
    result = materialize(
        [asset],
        resources={
            "backfill_launcher": SparkBackfillLauncher(mode="subprocess"),
            "settings": SettingsResource.from_settings(get_settings()),
        },
        run_config={"ops": {asset.op.name: {"config": {"engine": "spark"}}}},
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["engine"] == "spark" and meta["delta_engine"] == "delta-rs"
    assert meta["rows"] == nightly.num_rows > 700 and meta["files"] >= 1
    assert meta["spark_seconds"] > 0
    rebuilt = read_table(storage, spec)
    assert content_hash(rebuilt, exclude=("ingested_at",)) == content_hash(nightly, exclude=("ingested_at",))


def _publish_gold(storage, built_marts, monkeypatch) -> str:
    """The session's dbt marts published to this lake's gold, as the nightly gold step does; the launcher's
    environment set as a nightly run has it. Returns the features mart's table URI."""
    publish_to_delta(storage, built_marts.settings.duckdb_path, [("marts", name) for name in (*INPUTS, MART)])
    monkeypatch.setenv("NEXUS_DECISION_TIME_UTC", built_marts.settings.decision_time_utc.strftime("%H:%M:%S"))
    monkeypatch.setenv(SPARK_CONF_ENV, json.dumps(TINY_DATA_CONF))
    return storage.uri("gold", "marts", MART)


def _materialize_features(**kwargs):
    return materialize(
        [build_backfill_asset(FEATURES)],
        resources={
            "backfill_launcher": SparkBackfillLauncher(mode="subprocess"),
            "settings": SettingsResource.from_settings(get_settings()),
        },
        **kwargs,
    )


@pytest.mark.slow
def test_the_features_asset_runs_the_spark_features_job_through_pipes(storage, built_marts, monkeypatch):
    """`backfill/features` launches the entry point's features job the same way (one Pipes path for every job):
    gold/marts/fct_features_daily rebuilt from the published upstream marts equals dbt's bit for bit (every column,
    floats exactly: the SQL is deterministic once rounded to 1e-10, see features_job.rounded), rows/files/time
    shown."""
    pytest.importorskip("pyspark")
    uri = _publish_gold(storage, built_marts, monkeypatch)
    by_dbt, version = DeltaTable(uri).to_pyarrow_table(), DeltaTable(uri).version()

    result = _materialize_features()

    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["engine"] == "spark" and meta["delta_engine"] == "delta-rs"
    assert meta["table"] == f"gold/marts/{MART}" and meta["rows"] == by_dbt.num_rows > 10_000
    assert meta["files"] >= 1 and meta["spark_seconds"] > 0 and '"passed": true' in meta["checks"]
    assert DeltaTable(uri).version() == version + 1  # Spark wrote the table, through the subprocess
    by_spark = DeltaTable(uri).to_pyarrow_table()
    assert by_spark.schema == by_dbt.schema
    assert content_hash(by_spark) == content_hash(by_dbt)
    # the joins brought every kind of feature, not nulls: positioning (ASOF per symbol), on-chain, energy
    for column in ("ret_250d", "cot_spec_z52", "mvrv", "energy_days_since_release", "vix", "dgs10"):
        assert by_spark[column].null_count < by_spark.num_rows, column


@pytest.mark.slow
def test_a_features_candidate_refused_by_the_row_checks_fails_the_asset_and_commits_nothing(
    storage, built_marts, monkeypatch
):
    """Upstream prices with an impossible volatility: the job's candidate breaks fct_features_daily's dbt row
    checks, so the Pipes subprocess raises MartCheckError, the asset fails naming the rule, and the table keeps
    its version and content, with the refused staged files deleted."""
    pytest.importorskip("pyspark")
    uri = _publish_gold(storage, built_marts, monkeypatch)
    prices_uri = storage.uri("gold", "marts", "fct_prices_daily")
    prices = DeltaTable(prices_uri).to_pyarrow_table()
    prices = prices.filter(pc.less(prices["trade_date"], pa.scalar(prices["trade_date"][200].as_py())))
    broken = pc.if_else(pc.is_null(prices["realized_vol_20d"]), None, pa.scalar(50.0))  # range is [0, 10]
    prices = prices.set_column(prices.schema.get_field_index("realized_vol_20d"), "realized_vol_20d", broken)
    write_deltalake(prices_uri, prices, mode="overwrite")
    before = DeltaTable(uri)

    instance = DagsterInstance.ephemeral()
    result = _materialize_features(raise_on_error=False, instance=instance)

    assert not result.success and result.get_asset_materialization_events() == []
    (failure,) = result.get_step_failure_events()
    assert "External execution process failed" in str(failure.step_failure_data.error.cause)
    # what the run's log shows beside the failure: the job's own typed error, with the rule and its count
    logged = [e.dagster_event for e in instance.all_logs(result.run_id) if e.dagster_event is not None]
    (closed,) = [e for e in logged if "pipes closed with exception" in (e.message or "")]
    error = closed.event_specific_data.error
    assert error.cls_name == "MartCheckError"
    assert re.search(r"rvol_20d outside \[0, 10\]: \d+ rows", error.message), error.message
    after = DeltaTable(uri)
    assert after.version() == before.version()
    assert content_hash(after.to_pyarrow_table()) == content_hash(before.to_pyarrow_table())
    folder = Path(storage.fs_path(uri))
    assert [p for p in folder.iterdir() if p.name.startswith("backfill-")] == []  # the refused files were deleted
