"""The backfill and features assets run their Spark job through Dagster Pipes (a subprocess here) and report
what it did."""

from __future__ import annotations

import json
from datetime import date

import pytest
from dagster import materialize
from deltalake import DeltaTable

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


@pytest.mark.slow
def test_the_features_asset_runs_the_spark_features_job_through_pipes(storage, built_marts, monkeypatch):
    """`backfill/features` launches the entry point's features job the same way (one Pipes path for every job):
    gold/marts/fct_features_daily rebuilt from the published upstream marts equals dbt's, rows/files/time shown."""
    pytest.importorskip("pyspark")
    publish_to_delta(storage, built_marts.settings.duckdb_path, [("marts", name) for name in (*INPUTS, MART)])
    uri = storage.uri("gold", "marts", MART)
    by_dbt, version = DeltaTable(uri).to_pyarrow_table(), DeltaTable(uri).version()
    monkeypatch.setenv("NEXUS_DECISION_TIME_UTC", built_marts.settings.decision_time_utc.strftime("%H:%M:%S"))
    monkeypatch.setenv(SPARK_CONF_ENV, json.dumps(TINY_DATA_CONF))

    asset = build_backfill_asset(FEATURES)
    result = materialize(
        [asset],
        resources={
            "backfill_launcher": SparkBackfillLauncher(mode="subprocess"),
            "settings": SettingsResource.from_settings(get_settings()),
        },
    )

    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["engine"] == "spark" and meta["delta_engine"] == "delta-rs"
    assert meta["table"] == f"gold/marts/{MART}" and meta["rows"] == by_dbt.num_rows > 10_000
    assert meta["files"] >= 1 and meta["spark_seconds"] > 0 and '"passed": true' in meta["checks"]
    assert DeltaTable(uri).version() == version + 1  # the job committed, through the subprocess
    assert content_hash(DeltaTable(uri).to_pyarrow_table()) == content_hash(by_dbt)
