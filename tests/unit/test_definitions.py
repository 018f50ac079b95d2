"""The code location: every stage is a job, stages chain by data (release sensors, automation), New York days."""

from datetime import datetime
from zoneinfo import ZoneInfo

from pipelines.definitions import defs

NY = ZoneInfo("America/New_York")


def test_every_stage_has_a_job():
    names = {job.name for job in defs.get_repository_def().get_all_jobs()}
    for expected in ("marts_job", "models_job", "signals_job", "personas_job", "feeds_job", "daily_ingest_job"):
        assert expected in names


def test_every_stage_after_ingest_starts_on_its_inputs_not_on_a_clock():
    """The clock chain is gone: each later stage carries the gated condition, ingest is started by release sensors."""
    expected = {
        "ingest": None,  # bronze payloads
        "silver": None,
        "marts": "after_inputs_passed_checks",  # reference tables, dbt staging/intermediate/marts, gold publishing
        "models": "after_inputs_passed_checks",
        "signals": "decision_day_after_inputs_passed_checks",
        "personas": "decision_day_after_inputs_passed_checks",
        "feeds": "decision_day_after_inputs_passed_checks",
        "backfill": None,  # bulk re-derivations an operator launches (backfill_<source>_job), never automatic
        "maintenance": None,  # housekeeping, not a data stage: the weekly schedule below
    }
    specs = defs.resolve_all_asset_specs()
    assert {spec.group_name for spec in specs} == set(expected)
    for spec in specs:
        label = spec.automation_condition.get_label() if spec.automation_condition else None
        assert label == expected[spec.group_name], spec.key.to_user_string()
    # the one clock is housekeeping: lake maintenance, weekly, on a job that selects nothing but it
    assert [s.name for s in defs.schedules] == ["weekly_maintenance"]
    schedule = defs.schedules[0]
    assert schedule.cron_schedule == "0 4 * * 0" and schedule.execution_timezone == "America/New_York"
    job = defs.resolve_job_def(schedule.job_name)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {"lake/maintenance"}


def test_automation_and_release_sensors_are_stopped_until_an_operator_turns_them_on():
    from dagster import DefaultSensorStatus

    for sensor_def in defs.sensors:
        if sensor_def.name.startswith("alert_on_"):
            continue  # alerts only post; they are on from the start
        assert sensor_def.default_status == DefaultSensorStatus.STOPPED, sensor_def.name


def test_partitions_are_new_york_days():
    from assets.partitions import configured_partitions
    from resources.settings import get_settings

    partitions = configured_partitions(get_settings())
    for partitions_def in partitions.values():
        assert partitions_def.timezone == "America/New_York"
    # 20:30 ET on Friday 28 June is already Saturday in UTC: still Friday's partition.
    friday_evening = datetime(2024, 6, 28, 20, 30, tzinfo=NY)
    assert partitions["daily"].get_partition_key_for_timestamp(friday_evening.timestamp()) == "2024-06-28"


def test_a_range_too_short_for_the_models_is_named_and_skipped():
    from datetime import date

    from pipelines.runner import model_stage_shortfall
    from resources.settings import Settings

    def shortfall(start: date, end: date, window_days: int) -> str | None:
        return model_stage_shortfall(Settings(start_date=start, end_date=end, signal_history_days=window_days))

    reason = shortfall(date(2023, 1, 2), date(2024, 6, 28), 31)
    assert reason is not None and "too short for the models" in reason and "--start 2019" in reason
    assert shortfall(date(2019, 7, 1), date(2024, 6, 28), 31) is None
    assert shortfall(date(2016, 1, 1), date(2025, 12, 31), 31) is None


def test_each_stage_contributes_its_own_assets_and_the_wiring_none():
    """assets/<stage>/definitions.py: every asset and check of the code location comes from exactly one stage."""
    from assets.partitions import configured_partitions
    from pipelines.definitions import STAGES, wiring_definitions
    from resources.settings import Settings

    settings = Settings()
    partitions = configured_partitions(settings)
    owners: dict[str, list[str]] = {}
    checks: dict[str, list[str]] = {}
    for stage in STAGES:
        part = stage(partitions)
        for spec in [spec for definition in part.assets or [] for spec in definition.specs]:
            owners.setdefault(spec.key.to_user_string(), []).append(stage.__name__)
        for definition in [*(part.assets or []), *(part.asset_checks or [])]:
            for key in definition.check_keys:
                checks.setdefault(key.to_user_string(), []).append(stage.__name__)
    assert {k: v for k, v in {**owners, **checks}.items() if len(v) != 1} == {}
    assert set(owners) == {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert set(checks) == {key.to_user_string() for key in defs.get_repository_def().asset_graph.asset_check_keys}
    wiring = wiring_definitions(settings, partitions)
    assert not wiring.assets and not wiring.asset_checks


def test_every_step_of_a_rerun_can_be_left_out_when_nothing_changed():
    """Each job `nexus run` repeats has a skip probe for every step that materializes, so a re-run with nothing new
    launches no run at all (pipelines/preflight.py)."""
    from dagster._core.definitions.dependency import NodeHandle

    from assets.skips import PROBES
    from pipelines.definitions import CADENCES
    from pipelines.jobs import run_plan

    for job_name, _ in run_plan(CADENCES):
        job = defs.resolve_job_def(job_name)
        for name in job.graph.node_dict:
            assets_def = job.asset_layer.get_assets_def_for_node(NodeHandle(name, None))
            if set(assets_def.keys) & set(job.asset_layer.selected_asset_keys):
                assert name in PROBES, f"{job_name}: {name} has no skip probe"
