"""The EIA Dagster assets: a weekly and a daily partition materialize bronze and silver and pass their GE checks."""

from datetime import date

import pytest
from dagster import AssetKey, materialize

from assets.ingest.eia import eia_daily_checks, eia_daily_ingest, eia_weekly_checks, eia_weekly_ingest
from assets.partitions import configured_partitions, partition_key_for
from resources.lake.delta import read_table
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.sources.eia.spec import DAILY_PRICES, WEEKLY_SERIES


@pytest.mark.parametrize(
    ("assets", "checks", "cadence", "bronze", "spec", "last"),
    [
        (eia_weekly_ingest, eia_weekly_checks, "weekly", "weekly_reports", WEEKLY_SERIES, date(2024, 6, 21)),
        (eia_daily_ingest, eia_daily_checks, "daily", "price_pages", DAILY_PRICES, date(2024, 6, 21)),
    ],
    ids=["weekly", "daily"],
)
def test_a_partition_materializes_and_passes_its_checks(
    storage, settings, monkeypatch, assets, checks, cadence, bronze, spec, last
):
    monkeypatch.setenv("NEXUS_START_DATE", "2023-01-01")
    result = materialize(
        [assets, *checks],
        partition_key=partition_key_for(date(2024, 6, 28), cadence, configured_partitions(get_settings())[cadence]),
        resources={
            "lake": LakeResource(lake_uri=settings.lake_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
    )
    assert result.success
    keys = {event.materialization.asset_key for event in result.get_asset_materialization_events()}
    assert keys == {
        AssetKey(["bronze", "eia", bronze]),
        AssetKey(["silver", "eia", spec.name.split("/")[1]]),
    }
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
    periods = read_table(storage, spec, columns=["period"]).column("period").to_pylist()
    # as of Friday 28 June 2024: weeks up to 21 June were released (WPSR Wed 26, WNGSR Thu 27), prices likewise
    assert min(periods) >= date(2023, 1, 1) and max(periods) == last
