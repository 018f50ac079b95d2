"""Schedules on each publisher's release calendar (America/New_York)."""

from typing import TYPE_CHECKING

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    schedule,
)

if TYPE_CHECKING:  # the class is not exported by dagster; only the annotation needs it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from pipelines.jobs import feeds_job, marts_job, models_job, personas_job, signals_job
from pipelines.partitions import as_of_tags, partition_key_for


def ingest_schedules(jobs: "dict[str, UnresolvedAssetJobDefinition]") -> list[ScheduleDefinition]:
    schedules = []
    if "daily" in jobs:
        # Cboe closes are final after 16:15 ET, FRED and EIA daily prices post in the evening: load at 18:00 ET.
        schedules.append(
            build_schedule_from_partitioned_job(
                jobs["daily"],
                hour_of_day=18,
                minute_of_hour=0,
                name="daily_ingest_nightly",
                description="Every day 18:00 America/New_York: today's as-of snapshot of the daily publishers.",
                default_status=DefaultScheduleStatus.STOPPED,
            )
        )
    if "weekly" in jobs:
        # EIA petroleum Wed 10:30, gas storage Thu 10:30, COT Fri 15:30 ET: refresh this week's snapshot after each.
        for name, cron in (
            ("weekly_ingest_eia_petroleum", "0 11 * * 3"),
            ("weekly_ingest_eia_gas", "0 11 * * 4"),
            ("weekly_ingest_cot", "0 16 * * 5"),
        ):
            schedules.append(_weekly_release_schedule(jobs["weekly"], name, cron))
    return schedules


def _weekly_release_schedule(job: "UnresolvedAssetJobDefinition", name: str, cron: str) -> ScheduleDefinition:
    """Run the current week's partition at a release time (several releases land in one Saturday-Friday week)."""

    @schedule(
        job=job,
        cron_schedule=cron,
        execution_timezone="America/New_York",
        name=name,
        description=f"{cron} America/New_York: this week's as-of snapshot of the weekly publishers.",
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def _release(context: ScheduleEvaluationContext) -> RunRequest:
        day = context.scheduled_execution_time.date()
        key = partition_key_for(day, "weekly")
        return RunRequest(run_key=f"{name}:{day.isoformat()}", partition_key=key, tags=as_of_tags(day))

    return _release


@schedule(
    job=marts_job,
    cron_schedule="30 18 * * *",
    execution_timezone="America/New_York",
    name="marts_nightly",
    description="Every day 18:30 America/New_York: rebuild the marts and gold after the daily ingest.",
    default_status=DefaultScheduleStatus.STOPPED,
)
def marts_nightly(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


@schedule(
    job=models_job,
    cron_schedule="0 19 * * 1-5",
    execution_timezone="America/New_York",
    name="models_nightly",
    description=(
        "Weekdays 19:00 America/New_York: regimes, walk-forward models and evaluation on tonight's marts "
        "(unchanged inputs reuse every cached fit, so a quiet night takes seconds)."
    ),
    default_status=DefaultScheduleStatus.STOPPED,
)
def models_nightly(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


def _business_day_schedule(
    job: "UnresolvedAssetJobDefinition", name: str, cron: str, description: str
) -> ScheduleDefinition:
    """Run today's daily partition (the decision day D is the day the schedule fires, after the close)."""

    @schedule(
        job=job,
        cron_schedule=cron,
        execution_timezone="America/New_York",
        name=name,
        description=description,
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def _daily(context: ScheduleEvaluationContext) -> RunRequest:
        day = context.scheduled_execution_time.date()
        return RunRequest(run_key=f"{name}:{day.isoformat()}", partition_key=partition_key_for(day, "daily"))

    return _daily


signals_nightly = _business_day_schedule(
    signals_job, "signals_nightly", "30 19 * * 1-5", "Weekdays 19:30 America/New_York: today's signals."
)
personas_nightly = _business_day_schedule(
    personas_job,
    "personas_nightly",
    "45 19 * * 1-5",
    "Weekdays 19:45 America/New_York: the six persona outputs, the audit trail and (Fridays) the PDF report.",
)
feeds_nightly = _business_day_schedule(
    feeds_job,
    "feeds_nightly",
    "0 20 * * 1-5",
    "Weekdays 20:00 America/New_York: deliver every client feed due today (daily clients, weekly ones on Fridays).",
)
DOWNSTREAM_SCHEDULES = [marts_nightly, models_nightly, signals_nightly, personas_nightly, feeds_nightly]
