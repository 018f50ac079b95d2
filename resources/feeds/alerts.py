"""Alerts for failed client deliveries: one line in the log, then every registered alert hook.

A delivery run started from the CLI also posts the alert to NEXUS_ALERT_WEBHOOK_URL (resources/alerts.py); a
scheduled run does not, because its failure (a Dagster `Failure` naming the clients) is posted by the
run-failure sensor. `register_alert_hook` adds any other receiver (a pager). Messages are redacted before they
leave (an S3 error can carry a signed URL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field

from resources.alerts import Alert, send_alert
from resources.redact import redact_text
from resources.settings import Settings

log = logging.getLogger(__name__)


class FeedFailure(BaseModel):
    client_id: str
    as_of: date | None = Field(description="the due date the delivery was for, when it was computed")
    error: str = Field(description="the exception's type")
    message: str


class FeedsAlert(BaseModel):
    kind: str = "feeds_delivery_failed"
    day: date
    run_id: str
    attempted: int
    failed: list[FeedFailure]

    def line(self) -> str:
        who = "; ".join(f"{f.client_id} ({f.error}: {f.message})" for f in self.failed)
        return f"feeds alert: {len(self.failed)} of {self.attempted} client deliveries failed for {self.day}: {who}"


AlertHook = Callable[[FeedsAlert], None]
_HOOKS: list[AlertHook] = []


def register_alert_hook(hook: AlertHook) -> AlertHook:
    """Call `hook` with every feeds alert from now on (returns it, so it can serve as a decorator)."""
    _HOOKS.append(hook)
    return hook


def unregister_alert_hook(hook: AlertHook) -> None:
    if hook in _HOOKS:
        _HOOKS.remove(hook)


def failure(client_id: str, as_of: date | None, exc: BaseException) -> FeedFailure:
    return FeedFailure(client_id=client_id, as_of=as_of, error=type(exc).__name__, message=redact_text(str(exc)))


def operator_alert(alert: FeedsAlert) -> Alert:
    """The feeds alert as the operator's webhook message."""
    return Alert(
        kind="run_failure",
        title=f"Client feed deliveries failed for {alert.day}: {len(alert.failed)} of {alert.attempted}",
        run_id=alert.run_id,
        job="client feeds",
        subject=", ".join(f.client_id for f in alert.failed),
        reason=alert.line(),
    )


def raise_alert(alert: FeedsAlert, settings: Settings | None = None) -> None:
    """Log the alert as one error line, hand it to every hook, and post it to the webhook when `settings` are
    given (a failing hook or webhook is logged, never raised: it must not hide the deliveries' own outcome)."""
    log.error(alert.line())
    for hook in list(_HOOKS):
        try:
            hook(alert)
        except Exception:
            log.exception("feeds: alert hook %r failed", hook)
    if settings is None:
        return
    try:
        if not send_alert(operator_alert(alert), settings):
            log.info("feeds: alert not sent: neither NEXUS_ALERT_WEBHOOK_URL nor NEXUS_ALERT_SMTP_HOST is set")
    except Exception as exc:
        log.error("feeds: alert delivery failed: %s", redact_text(str(exc)))
