"""Freshness of silver (dbt source freshness) and of the marts, judged at the simulated publisher's clock.

The lake holds one-column silver tables (`available_at`, what freshness reads): every publisher has released what
its calendar made due by Thursday 27 June 2024 18:00 New York, Cboe only through Wednesday. Before Thursday's Cboe
close + margin everything is fresh; once the clock passes it, Cboe's table and every mart reading it are late and
say which release they wait for, while the marts that do not read Cboe stay fresh.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from dagster import AssetCheckResult, AssetKey, AssetMaterialization, DagsterInstance, build_asset_check_context
from deltalake import write_deltalake

from assets.ingest.freshness import SILVER_CALENDARS
from assets.marts.freshness import CHECK_NAME as MART_CHECK
from assets.marts.source_freshness import CHECK_NAME as SOURCE_CHECK
from pipelines.definitions import MART_FRESHNESS, SOURCE_FRESHNESS
from resources.freshness import expected_release
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.clock import PublisherClock

NY = ZoneInfo("America/New_York")
BEFORE_THURSDAY_CLOSE_DUE = datetime(2024, 6, 27, 18, 0, tzinfo=NY)  # Cboe 16:15 + 2 h margin = 18:15
PAST_IT = datetime(2024, 6, 27, 18, 30, tzinfo=NY)
CBOE = AssetKey(["silver", "cboe", "index_closes"])
VOL = AssetKey(["marts", "fct_vol_term_structure_daily"])  # reads Cboe
COT = AssetKey(["marts", "fct_cot_positioning_weekly"])  # reads COT only


@pytest.fixture
def lake(tmp_path, monkeypatch, storage) -> PublisherClock:
    clock_file = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    for key, calendar in SILVER_CALENDARS.items():
        due = expected_release(calendar.streams, BEFORE_THURSDAY_CLOSE_DUE)
        assert due is not None
        newest = datetime(2024, 6, 26, 20, 15, tzinfo=UTC) if key == CBOE else due.at
        rows = pa.table({"available_at": pa.array([newest.astimezone(UTC)], pa.timestamp("us", tz="UTC"))})
        write_deltalake(storage.uri(*key.path), rows)
    clock = PublisherClock(clock_file)
    clock.set(BEFORE_THURSDAY_CLOSE_DUE)
    return clock


def _marts(instance: DagsterInstance) -> dict[AssetKey, AssetCheckResult]:
    """Every mart's freshness check, as the half-hourly automation run evaluates them (one step)."""
    resources = {
        "lake": LakeResource(lake_uri=get_settings().lake_uri),
        "settings": SettingsResource.from_settings(get_settings()),
    }
    results = list(MART_FRESHNESS(build_asset_check_context(instance=instance, resources=resources)))
    assert {r.check_name for r in results} == {MART_CHECK}
    return {r.asset_key: r for r in results}


def test_a_mart_is_late_once_the_clock_passes_a_release_its_input_lacks(lake):
    instance = DagsterInstance.ephemeral()
    for mart in (VOL, COT):  # built after the silver tables were written
        instance.report_runless_asset_event(AssetMaterialization(mart))
    before = _marts(instance)
    assert before[VOL].passed and before[COT].passed, before
    lake.set(PAST_IT)
    after = _marts(instance)
    assert not after[VOL].passed
    assert "silver/cboe/index_closes" in after[VOL].description and "late" in after[VOL].description
    assert after[VOL].metadata["expected_release"].value == "2024-06-27T20:15:00+00:00"
    assert after[COT].passed, "a mart that does not read the late publisher stays fresh"
    never = _marts(DagsterInstance.ephemeral())[COT]
    assert not never.passed and never.description == "never built"


@pytest.mark.slow
def test_dbt_source_freshness_runs_at_the_publisher_clock_and_fails_the_late_table(lake):
    """One dbt run (a dbt process costs seconds) past Thursday's close: Cboe late, every other source fresh."""
    lake.set(PAST_IT)
    settings = {"settings": SettingsResource.from_settings(get_settings())}
    late = {
        r.asset_key: r
        for r in SOURCE_FRESHNESS(build_asset_check_context(instance=DagsterInstance.ephemeral(), resources=settings))
    }
    assert set(late) == set(SILVER_CALENDARS) and {r.check_name for r in late.values()} == {SOURCE_CHECK}
    failed = {k: r.description for k, r in late.items() if not r.passed}
    assert set(failed) == {CBOE}, failed
    assert late[CBOE].metadata["max_available_at"].value == "2024-06-26T20:15:00+00:00"  # what dbt read
    assert "late: holds releases through 2024-06-26" in late[CBOE].description
    assert "2024-06-27T20:15:00+00:00" in late[CBOE].description  # the release it waits for
    assert datetime.fromisoformat(late[CBOE].metadata["checked_at"].value) == PAST_IT
