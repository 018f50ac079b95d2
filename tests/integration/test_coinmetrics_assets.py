"""The Coin Metrics Dagster assets: one daily partition materializes bronze and silver, and the GE check passes."""

from dagster import AssetKey, materialize

from assets.ingest.coinmetrics import coinmetrics_checks, coinmetrics_ingest
from resources.lake.delta import read_table
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.sources.coinmetrics.spec import ASSET_METRICS


def test_a_daily_partition_materializes_and_passes_its_checks(storage, settings, monkeypatch):
    monkeypatch.setenv("NEXUS_START_DATE", "2023-01-01")

    result = materialize(
        [coinmetrics_ingest, *coinmetrics_checks],
        partition_key="2023-12-29",  # Friday: its trading-day window holds the weekend's releases
        tags={"nexus/as_of": "2023-12-31"},
        resources={
            "lake": LakeResource(lake_uri=settings.lake_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
    )
    assert result.success
    keys = {m.asset_key for m in result.get_asset_materialization_events() for m in [m.materialization]}
    assert keys == {
        AssetKey(["bronze", "coinmetrics", "asset_metrics"]),
        AssetKey(["silver", "coinmetrics", "asset_metrics"]),
    }
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]
    rows = read_table(storage, ASSET_METRICS, columns=["observed_date"]).column("observed_date").to_pylist()
    assert str(min(rows)) == "2023-01-01" and str(max(rows)) == "2023-12-30"
