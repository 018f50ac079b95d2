"""The FRED Dagster assets: one daily partition materializes bronze and both silver tables, and the checks pass."""

from datetime import date

from dagster import AssetKey, materialize

from assets.ingest.fred import fred_checks, fred_ingest
from resources.lake.as_of import lake_as_of
from resources.lake.delta import read_table
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.sources.fred.spec import OBSERVATIONS, SERIES


def test_a_daily_partition_materializes_and_passes_its_checks(storage, settings, monkeypatch):
    monkeypatch.setenv("NEXUS_START_DATE", "2023-07-01")
    result = materialize(
        [fred_ingest, *fred_checks],
        partition_key="2023-12-29",
        resources={
            "lake": LakeResource(lake_uri=settings.lake_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
    )
    assert result.success
    events = result.get_asset_materialization_events()
    assert {e.materialization.asset_key for e in events} == {
        AssetKey(["bronze", "fred", "api_responses"]),
        AssetKey(["silver", "fred", "observations"]),
        AssetKey(["silver", "fred", "series"]),
    }
    assert [c.passed for c in result.get_asset_check_evaluations()] == [True, True]
    dates = read_table(storage, OBSERVATIONS, columns=["observation_date"]).column("observation_date").to_pylist()
    assert str(min(dates)) == "2023-07-03" and str(max(dates)) <= "2023-12-28"
    assert read_table(storage, SERIES).num_rows == 10
    metadata = str([e.materialization.metadata for e in events])
    assert "api_key" not in metadata
    # the day the ingest loaded as of is what the lake is as of now, and the marts built next stop there: a trading
    # day's partition reaches over the weekend and holiday after it (Friday 29 December 2023 through New Year's Day)
    assert lake_as_of(storage) == date(2024, 1, 1)
