"""The code location: every stage is a job, every job has a schedule, and the evening order follows the data."""

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import build_schedule_context

from pipelines.definitions import defs

NY = ZoneInfo("America/New_York")


def test_every_stage_has_a_job():
    names = {job.name for job in defs.get_repository_def().get_all_jobs()}
    for expected in ("marts_job", "models_job", "signals_job", "personas_job", "feeds_job", "daily_ingest_job"):
        assert expected in names


def test_downstream_schedules_run_todays_partition_after_its_inputs():
    friday = datetime(2024, 6, 28, 20, 0, tzinfo=NY)
    for name in ("signals_nightly", "personas_nightly", "feeds_nightly"):
        schedule = defs.get_schedule_def(name)
        context = build_schedule_context(scheduled_execution_time=friday, repository_def=defs.get_repository_def())
        request = schedule.evaluate_tick(context).run_requests[0]
        assert request.partition_key == "2024-06-28", name
    order = ["daily_ingest_nightly", "marts_nightly", "models_nightly", "signals_nightly", "personas_nightly"]
    minutes = []
    for name in [*order, "feeds_nightly"]:
        minute, hour = defs.get_schedule_def(name).cron_schedule.split()[:2]
        minutes.append(int(hour) * 60 + int(minute))
    assert minutes == sorted(minutes), "each evening schedule must fire after the one feeding it"


def test_schedules_are_stopped_until_an_operator_turns_them_on():
    from dagster import DefaultScheduleStatus

    for schedule in defs.schedules:
        assert schedule.default_status == DefaultScheduleStatus.STOPPED, schedule.name


def test_a_range_too_short_for_the_models_is_named_and_skipped():
    from datetime import date

    from pipelines.runner import model_stage_shortfall

    reason = model_stage_shortfall(date(2023, 1, 2), date(2024, 6, 28), 31)
    assert reason is not None and "too short for the models" in reason and "--start 2019" in reason
    assert model_stage_shortfall(date(2019, 7, 1), date(2024, 6, 28), 31) is None
    assert model_stage_shortfall(date(2016, 1, 1), date(2025, 12, 31), 31) is None
