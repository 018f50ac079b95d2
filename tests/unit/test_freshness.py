"""Freshness checks: each silver table is due the newest release of its publishers plus a margin."""

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import AssetCheckKey, AssetKey, AssetMaterialization, DagsterInstance, build_asset_check_context

from assets.ingest.freshness import FRESHNESS_CHECKS
from assets.partitions import partition_key_for
from resources.freshness import snapshot_freshness
from resources.settings import get_settings
from resources.simulated.clock import PublisherClock

NY = ZoneInfo("America/New_York")


def _weekly(day):
    return partition_key_for(day, "weekly")


def test_cot_is_late_only_after_the_shifted_release_plus_margin():
    # Juneteenth week 2024: the report comes on Monday 24 June 15:30 ET; the week's partition is 2024-06-22.
    friday = datetime(2024, 6, 21, 20, 0, tzinfo=NY)
    assert snapshot_freshness(("cot",), "2024-06-08", _weekly, friday).passed  # the 14 June release is in
    monday_early = datetime(2024, 6, 24, 16, 0, tzinfo=NY)
    assert snapshot_freshness(("cot",), "2024-06-08", _weekly, monday_early).passed  # inside the margin
    monday_late = datetime(2024, 6, 24, 18, 0, tzinfo=NY)
    late = snapshot_freshness(("cot",), "2024-06-08", _weekly, monday_late)
    assert not late.passed and "2024-06-22" in late.description
    assert snapshot_freshness(("cot",), "2024-06-22", _weekly, monday_late).passed


def test_every_silver_table_has_a_freshness_check():
    from pipelines.definitions import INGEST_ASSETS

    silver = {k for d in INGEST_ASSETS for k in d.keys if k.path[0] == "silver"}
    checked = {k.asset_key for c in FRESHNESS_CHECKS for k in c.check_keys}
    assert checked == silver


def test_the_check_reads_the_instance_and_the_publisher_clock(tmp_path, monkeypatch):
    clock_file = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    get_settings.cache_clear()
    PublisherClock(clock_file).set(datetime(2024, 6, 27, 20, 0, tzinfo=NY))  # after Thursday's Cboe close + margin
    key = AssetKey(["silver", "cboe", "index_closes"])
    check = next(c for c in FRESHNESS_CHECKS if AssetCheckKey(key, "fresh_per_release_calendar") in c.check_keys)
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-26"))
    stale = check(build_asset_check_context(instance=instance))
    assert not stale.passed and "late" in (stale.description or "")
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-27"))
    assert check(build_asset_check_context(instance=instance)).passed


def test_a_simulated_lake_built_to_its_end_date_is_fresh_without_a_clock(monkeypatch):
    # `make run` loads the simulated world up to NEXUS_END_DATE; judged at the wall clock it would be a year late.
    monkeypatch.delenv("NEXUS_PUBLISHER_CLOCK_FILE", raising=False)
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "simulated")
    monkeypatch.setenv("NEXUS_END_DATE", "2024-06-28")  # a Friday
    get_settings.cache_clear()
    key = AssetKey(["silver", "cboe", "index_closes"])
    check = next(c for c in FRESHNESS_CHECKS if AssetCheckKey(key, "fresh_per_release_calendar") in c.check_keys)
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-26"))
    stale = check(build_asset_check_context(instance=instance))
    assert not stale.passed, "Thursday's close was due (with its margin) before the end date's decision time"
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-28"))
    fresh = check(build_asset_check_context(instance=instance))
    assert fresh.passed and fresh.metadata["checked_at"].value.startswith("2024-06-28")
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
    get_settings.cache_clear()
    assert not check(build_asset_check_context(instance=instance)).passed, "live mode judges at the wall clock"
    get_settings.cache_clear()
