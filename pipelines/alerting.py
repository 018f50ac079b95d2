"""Sensors that tell the operator: a failed run, or a failed blocking check, posts an alert (resources/alerts.py).

Both run in the daemon and are on by default. Alerts go to every configured channel (NEXUS_ALERT_WEBHOOK_URL,
e-mail through NEXUS_ALERT_SMTP_HOST); with none configured they only log that.
"""

from __future__ import annotations

from dagster import (
    AssetCheckEvaluation,
    DagsterEventType,
    DefaultSensorStatus,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from resources.alerts import Alert, send_alert
from resources.settings_resource import SettingsResource

CHECK_BATCH = 200


def run_failure_alert(context: RunFailureSensorContext) -> Alert:
    """The run, its job, the failed steps and the failure message."""
    run = context.dagster_run
    steps = sorted({event.step_key for event in context.get_step_failure_events() if event.step_key})
    reason = context.failure_event.message or "run failed"
    for event in context.get_step_failure_events()[:3]:
        error = event.event_specific_data.error if event.event_specific_data else None  # type: ignore[union-attr]
        while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
            error = error.cause
        if error is not None:
            reason += f"\n{event.step_key}: {error.message.strip()}"
    return Alert(
        kind="run_failure",
        title=f"Nexus run failed: {run.job_name}",
        run_id=run.run_id,
        job=run.job_name,
        subject=", ".join(steps) or None,
        reason=reason,
    )


@run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=True,
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends every failed run (job, run id, failed steps, reason) to the webhook and/or e-mail.",
)
def alert_on_run_failure(context: RunFailureSensorContext, settings: SettingsResource) -> None:
    alert = run_failure_alert(context)
    if not send_alert(alert, settings.get()):
        context.log.info("run failure not sent: neither NEXUS_ALERT_WEBHOOK_URL nor NEXUS_ALERT_SMTP_HOST is set")


def check_failure_alert(evaluation: AssetCheckEvaluation, run_id: str | None) -> Alert:
    description = evaluation.description or ""
    failed = evaluation.metadata.get("failed_expectations") or evaluation.metadata.get("failures")
    detail = f" ({failed.value})" if failed is not None else ""
    return Alert(
        kind="check_failure",
        title=f"Blocking check failed: {evaluation.asset_key.to_user_string()}",
        run_id=run_id,
        subject=f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
        reason=(description or "the check did not pass")
        + detail
        + "; everything downstream waits until it passes again.",
    )


def check_failure_alerts(context: SensorEvaluationContext, after: int | None) -> tuple[list[Alert], int | None]:
    """Failed blocking check evaluations recorded after position `after` (None: start from now).

    A run-sharded event log (the default SQLite instance keeps one database per run) cannot be queried across runs
    by event id, so there the position is the id of the instance's asset-check execution index instead.
    """
    if context.instance.event_log_storage.is_run_sharded:
        return _indexed_check_failure_alerts(context, after)
    records = context.instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        limit=CHECK_BATCH,
        ascending=after is not None,
    )
    if after is None:  # first tick: remember where the log is, do not replay history
        return [], (records[0].storage_id if records else 0)
    alerts = []
    for record in records:
        evaluation = record.event_log_entry.asset_check_evaluation
        if evaluation is not None and not evaluation.passed and evaluation.blocking:
            alerts.append(check_failure_alert(evaluation, record.run_id))
        after = record.storage_id
    return alerts, after


def _indexed_check_failure_alerts(context: SensorEvaluationContext, after: int | None) -> tuple[list[Alert], int]:
    """The same, from the asset-check execution index of the code location's blocking checks (SQLite)."""
    graph = context.repository_def.asset_graph if context.repository_def else None
    keys = [k for k in (graph.asset_check_keys if graph else ()) if graph.get_check_spec(k).blocking]
    storage = context.instance.event_log_storage
    executions = [e for key in keys for e in storage.get_asset_check_execution_history(key, limit=CHECK_BATCH)]
    newest = max((e.id for e in executions), default=after or 0)
    if after is None:  # first tick: remember where the index is, do not replay history
        return [], newest
    alerts = []
    for execution in sorted((e for e in executions if e.id > after), key=lambda e: e.id):
        evaluation = execution.event.asset_check_evaluation if execution.event else None
        if evaluation is not None and not evaluation.passed and evaluation.blocking:
            alerts.append(check_failure_alert(evaluation, execution.run_id))
    return alerts, newest


@sensor(
    name="alert_on_check_failure",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends every failed blocking check (asset, check, reason) to the webhook and/or e-mail.",
)
def alert_on_check_failure(context: SensorEvaluationContext, settings: SettingsResource) -> SkipReason:
    after = int(context.cursor) if context.cursor else None
    alerts, cursor = check_failure_alerts(context, after)
    posted = sum(1 for alert in alerts if send_alert(alert, settings.get()))
    context.update_cursor(str(cursor))
    return SkipReason(f"{len(alerts)} failed blocking check(s), {posted} posted")


ALERT_SENSORS: list[SensorDefinition] = [alert_on_run_failure, alert_on_check_failure]
