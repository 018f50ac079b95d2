"""Alerts reach a Slack-compatible webhook (a local receiver on 127.0.0.1) with secrets redacted."""

import json
from collections.abc import Iterator

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    EventRecordsFilter,
    SkipReason,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from pipelines.alerting import alert_on_check_failure, alert_on_run_failure
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from tests.conftest import free_port
from tests.webhook_receiver import WebhookReceiver

FRED_KEY = "abcd1234secretfredkey"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A webhook receiver on 127.0.0.1 recording every JSON body; NEXUS_ALERT_WEBHOOK_URL points at it."""
    with WebhookReceiver() as webhook:
        monkeypatch.setenv("NEXUS_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("NEXUS_FRED_API_KEY", FRED_KEY)
        yield webhook.received


def _settings() -> dict[str, SettingsResource]:
    """The settings resource as the code location makes it, from the environment the test set."""
    return {"settings": SettingsResource.from_settings(get_settings())}


@op
def fetch_fred() -> None:
    raise RuntimeError(f"GET https://api.stlouisfed.org/fred/series?api_key={FRED_KEY} failed; key {FRED_KEY}")


@job
def fred_job() -> None:
    fetch_fred()


def test_a_failed_run_posts_its_job_run_step_and_reason_without_secrets(receiver):
    instance = DagsterInstance.ephemeral()
    result = fred_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        r.event_log_entry.dagster_event
        for r in instance.get_records_for_run(result.run_id).records
        if r.event_log_entry.dagster_event_type == DagsterEventType.RUN_FAILURE
    )
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources=_settings(),
    ).for_run_failure()
    alert_on_run_failure(context)
    (message,) = receiver
    assert set(message) == {"text", "blocks"}
    text = message["text"]
    assert "fred_job" in text and result.run_id in text and "fetch_fred" in text and "RuntimeError" in text
    assert FRED_KEY not in json.dumps(message) and "hooksecret" not in json.dumps(message)
    assert run.status == DagsterRunStatus.FAILURE


def test_a_failed_blocking_check_posts_the_asset_check_and_reason(receiver):
    instance = DagsterInstance.ephemeral()
    first = alert_on_check_failure(build_sensor_context(instance=instance, cursor=None, resources=_settings()))
    assert "0 failed" in first.skip_message  # the first tick only remembers where the event log is
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=AssetKey(["silver", "cboe", "index_closes"]),
            check_name="cboe_index_closes_suite",
            passed=False,
            blocking=True,
            description=f"close out of range for VIX on 2024-06-28 (fetched with api_key={FRED_KEY})",
        )
    )
    instance.report_runless_asset_event(
        AssetCheckEvaluation(asset_key=AssetKey(["silver", "x"]), check_name="informative", passed=False)
    )
    records = instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION))
    cursor = str(min(r.storage_id for r in records) - 1)
    result = alert_on_check_failure(build_sensor_context(instance=instance, cursor=cursor, resources=_settings()))
    assert "1 failed blocking check(s), 1 posted" in result.skip_message
    (message,) = receiver  # the non-blocking check posts nothing
    assert "silver/cboe/index_closes:cboe_index_closes_suite" in message["text"]
    assert "close out of range" in message["text"] and FRED_KEY not in message["text"]


def test_check_alerts_work_on_the_default_sqlite_instance(receiver, tmp_path):
    """SQLite keeps one event database per run, so the sensor reads the check execution index there (a cross-run
    event query raised on every tick before, and no failed gate was ever posted on `make serve`'s instance)."""
    key = AssetKey(["silver", "cboe", "index_closes"])

    @asset_check(asset=key, name="silver_cboe_index_closes_suite", blocking=True)
    def suite() -> AssetCheckResult:  # the code location's blocking check, as the sensor finds it
        return AssetCheckResult(passed=True)

    repository = Definitions(asset_checks=[suite]).get_repository_def()
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert instance.event_log_storage.is_run_sharded

        def tick(cursor: str | None) -> tuple[SkipReason, str | None]:
            context = build_sensor_context(
                instance=instance, cursor=cursor, repository_def=repository, resources=_settings()
            )
            result = alert_on_check_failure(context)
            return result, context.cursor

        first, cursor = tick(None)
        assert "0 failed" in first.skip_message
        for passed, blocking, name in ((False, True, "silver_cboe_index_closes_suite"), (False, False, "informative")):
            instance.report_runless_asset_event(
                AssetCheckEvaluation(
                    asset_key=key, check_name=name, passed=passed, blocking=blocking, description="VIX close 500"
                )
            )
        result, cursor = tick(cursor)
        assert "1 failed blocking check(s), 1 posted" in result.skip_message
        (message,) = receiver
        assert "silver/cboe/index_closes:silver_cboe_index_closes_suite" in message["text"]
        again, _ = tick(cursor)  # posted once, not on every tick
        assert "0 failed" in again.skip_message and len(receiver) == 1


def test_without_a_webhook_nothing_is_posted():
    from resources.alerts import Alert, post_alert

    assert post_alert(Alert(kind="run_failure", title="t", reason="r"), get_settings()) is False


SMTP_PASSWORD = "smtp-pass-0123456789"


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """aiosmtpd on 127.0.0.1 with a login; NEXUS_ALERT_SMTP_* point at it (no webhook configured)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list = []
    logins: list[str] = []

    class Mailbox:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == SMTP_PASSWORD
        if ok:
            logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        Mailbox(), hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv("NEXUS_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEXUS_ALERT_SMTP_PORT", str(port))
    monkeypatch.setenv("NEXUS_ALERT_SMTP_STARTTLS", "false")  # the local receiver has no certificate
    monkeypatch.setenv("NEXUS_ALERT_SMTP_USER", "nexus")
    monkeypatch.setenv("NEXUS_ALERT_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("NEXUS_ALERT_EMAIL_TO", "ops@example.test, quant@example.test")
    monkeypatch.setenv("NEXUS_FRED_API_KEY", FRED_KEY)
    try:
        yield received
        assert logins == ["nexus"] * len(received)
    finally:
        controller.stop()


def test_a_failed_run_is_mailed_with_its_job_run_step_and_reason_without_secrets(mailbox):
    instance = DagsterInstance.ephemeral()
    result = fred_job.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(
        r.event_log_entry.dagster_event
        for r in instance.get_records_for_run(result.run_id).records
        if r.event_log_entry.dagster_event_type == DagsterEventType.RUN_FAILURE
    )
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources=_settings(),
    ).for_run_failure()
    alert_on_run_failure(context)
    (envelope,) = mailbox
    assert envelope.rcpt_tos == ["ops@example.test", "quant@example.test"]
    mail = envelope.content.decode()
    assert "Subject: [nexus] Nexus run failed: fred_job" in mail
    assert result.run_id in mail and "fetch_fred" in mail and "RuntimeError" in mail
    assert FRED_KEY not in mail and SMTP_PASSWORD not in mail


def test_an_smtp_host_without_recipients_is_refused(monkeypatch):
    from resources.alerts import email_channel

    monkeypatch.setenv("NEXUS_ALERT_SMTP_HOST", "127.0.0.1")
    with pytest.raises(ValueError, match="NEXUS_ALERT_EMAIL_TO"):
        email_channel(get_settings())
