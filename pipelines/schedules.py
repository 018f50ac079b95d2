"""Nightly schedules on each publisher's release calendar."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    schedule,
)

from pipelines.jobs import daily_ingest_job, marts_job

# Cboe's closes are final after 16:15 ET; load them at 18:00 ET on weekdays (today's partition, end_offset=1).
daily_ingest_schedule = build_schedule_from_partitioned_job(
    daily_ingest_job,
    hour_of_day=18,
    minute_of_hour=0,
    name="daily_ingest_nightly",
    description="Weekdays 18:00 America/New_York: ingest today's Cboe closes into bronze and silver.",
    default_status=DefaultScheduleStatus.STOPPED,
)


@schedule(
    job=marts_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone="America/New_York",
    name="marts_nightly",
    description="Weekdays 18:30 America/New_York: rebuild the marts after the daily ingest.",
    default_status=DefaultScheduleStatus.STOPPED,
)
def marts_nightly(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))
