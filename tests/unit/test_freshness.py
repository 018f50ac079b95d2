"""Freshness checks: each silver table is due the newest release of its publishers plus a margin."""

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import AssetCheckKey, AssetKey, AssetMaterialization, DagsterInstance, build_asset_check_context

from assets.ingest.freshness import FRESHNESS_CHECKS
from assets.partitions import configured_partitions, partition_key_for
from resources.freshness import snapshot_freshness
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.clock import PublisherClock

NY = ZoneInfo("America/New_York")


def _weekly(day):
    return partition_key_for(day, "weekly", configured_partitions(get_settings())["weekly"])


def _context(instance: DagsterInstance):
    """The check's context with the settings resource as the code location builds it (from the environment now)."""
    return build_asset_check_context(
        instance=instance, resources={"settings": SettingsResource.from_settings(get_settings())}
    )


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
    PublisherClock(clock_file).set(datetime(2024, 6, 27, 20, 0, tzinfo=NY))  # after Thursday's Cboe close + margin
    key = AssetKey(["silver", "cboe", "index_closes"])
    check = next(c for c in FRESHNESS_CHECKS if AssetCheckKey(key, "fresh_per_release_calendar") in c.check_keys)
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-26"))
    stale = check(_context(instance))
    assert not stale.passed and "late" in (stale.description or "")
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-27"))
    assert check(_context(instance)).passed


def test_a_simulated_lake_built_to_its_end_date_is_fresh_without_a_clock(monkeypatch):
    # `make run` loads the simulated world up to NEXUS_END_DATE; judged at the wall clock it would be a year late.
    monkeypatch.delenv("NEXUS_PUBLISHER_CLOCK_FILE", raising=False)
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "simulated")
    monkeypatch.setenv("NEXUS_END_DATE", "2024-06-28")  # a Friday
    key = AssetKey(["silver", "cboe", "index_closes"])
    check = next(c for c in FRESHNESS_CHECKS if AssetCheckKey(key, "fresh_per_release_calendar") in c.check_keys)
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-26"))
    stale = check(_context(instance))
    assert not stale.passed, "Thursday's close was due (with its margin) before the end date's decision time"
    instance.report_runless_asset_event(AssetMaterialization(key, partition="2024-06-28"))
    fresh = check(_context(instance))
    assert fresh.passed and fresh.metadata["checked_at"].value.startswith("2024-06-28")
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
    assert not check(_context(instance)).passed, "live mode judges at the wall clock"


def test_a_mart_is_fresh_only_when_its_inputs_are_and_it_was_rebuilt_after_them():
    from resources.freshness import MART_MARGIN, Freshness, InputState, mart_freshness

    fresh, late = Freshness(True, None, "ok"), Freshness(False, None, "late: holds releases through 2024-06-26")
    now = 1_000_000.0
    hour = MART_MARGIN.total_seconds()
    cboe = InputState("silver/cboe/index_closes", fresh, now - 3 * hour)
    assert mart_freshness(now - 2 * hour, [cboe], now).passed
    assert not mart_freshness(None, [cboe], now).passed
    stale = mart_freshness(now - 4 * hour, [cboe], now)  # the input changed 3 h ago, the mart is older
    assert not stale.passed and "silver/cboe/index_closes changed after" in stale.description
    catching_up = InputState("silver/cboe/index_closes", fresh, now - hour / 2)  # inside the margin
    assert mart_freshness(now - 4 * hour, [catching_up], now).passed
    waiting = mart_freshness(now, [cboe, InputState("silver/cot/legacy_positions", late, now)], now)
    assert not waiting.passed and "silver/cot/legacy_positions: late" in waiting.description


def test_a_table_is_judged_on_the_new_york_day_of_the_newest_release_it_holds():
    from resources.freshness import held_freshness

    thursday_evening = datetime(2024, 6, 27, 18, 30, tzinfo=NY)  # Cboe's 16:15 close + 2 h margin has passed
    assert not held_freshness(("cboe",), datetime(2024, 6, 26, 16, 15, tzinfo=NY), thursday_evening).passed
    assert held_freshness(("cboe",), datetime(2024, 6, 27, 16, 15, tzinfo=NY), thursday_evening).passed
    # FRED's series table stamps its fetch (16:21 ET), before the 17:00 release time: the same New York day holds it
    friday_night = datetime(2024, 6, 28, 19, 30, tzinfo=NY)
    assert held_freshness(("fred",), datetime(2024, 6, 28, 16, 21, tzinfo=NY), friday_night).passed
    assert not held_freshness(("fred",), None, friday_night).passed


def test_every_mart_and_silver_table_declares_freshness_and_no_nightly_build_runs_it():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    marts = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    marts |= {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[:2] == ["gold", "marts"]}
    configured = {"marts/dim_instruments", "gold/marts/dim_instruments"}  # the universe file: no publisher
    assert {m for m in marts if (m, "fresh_per_release_calendar") in checks} == marts - configured
    # every publisher's silver table (reference tables come from the project's own files: no publisher)
    silver = {
        k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "silver" and k.path[1] != "reference"
    }
    assert len(silver) == 9
    assert {s for s in silver if (s, "dbt_source_freshness") in checks} == silver
    assert {s for s in silver if (s, "fresh_per_release_calendar") in checks} == silver
    for job_name in ("marts_job", "daily_ingest_job", "weekly_ingest_job"):
        in_job = {k.name for k in defs.resolve_job_def(job_name).asset_layer.asset_graph.asset_check_keys}
        assert "dbt_source_freshness" not in in_job, job_name
    in_marts_job = defs.resolve_job_def("marts_job").asset_layer.asset_graph.asset_check_keys
    assert not any(k.name == "fresh_per_release_calendar" for k in in_marts_job)
