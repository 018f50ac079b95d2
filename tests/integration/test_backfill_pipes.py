"""The backfill asset runs the Spark job through Dagster Pipes (a subprocess here) and reports what it did."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import materialize

from assets.backfill.assets import SparkBackfillLauncher, build_backfill_asset
from resources.lake.delta import content_hash, read_table
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.fred import write_scaled_files
from resources.sources.registry import ingest_source
from resources.spark.plans import plans_for


@pytest.mark.slow
def test_the_backfill_asset_runs_the_spark_job_through_pipes(storage, settings, tmp_path):
    pytest.importorskip("pyspark")
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
