"""The COT Dagster assets: one weekly partition materializes bronze and the three silver tables; checks pass."""

from datetime import date

from dagster import AssetKey, materialize

from assets.ingest.cot import COT, cot_checks, cot_ingest
from assets.partitions import configured_partitions, partition_key_for
from resources.lake.delta import read_table
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.sources.cot.spec import TABLES


def test_a_weekly_partition_materializes_and_passes_its_checks(storage, settings, monkeypatch):
    monkeypatch.setenv("NEXUS_START_DATE", "2023-07-01")
    assert COT.cadence == "weekly"
    result = materialize(
        [cot_ingest, *cot_checks],
        partition_key=partition_key_for(
            date(2024, 6, 28), "weekly", configured_partitions(get_settings())["weekly"]
        ),  # the week holding Friday 28 June
        resources={
            "lake": LakeResource(lake_uri=settings.lake_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
    )
    assert result.success
    events = result.get_asset_materialization_events()
    assert {e.materialization.asset_key for e in events} == {
        *(AssetKey(["bronze", "cot", f"{r}_reports"]) for r in TABLES),
        *(AssetKey(["silver", "cot", f"{r}_positions"]) for r in TABLES),
    }
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True, True, True]
    dates = read_table(storage, TABLES["tff"], columns=["report_date"]).column("report_date").to_pylist()
    assert min(dates) == date(2023, 7, 3)  # Monday data: Independence Day fell on the Tuesday
    assert max(dates) == date(2024, 6, 25)  # released on Friday 28 June
