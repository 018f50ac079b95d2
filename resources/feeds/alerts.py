"""Alerts for failed client deliveries: one line in the log, then every registered alert hook.

This is the seam for the project's alerting: a hook is any callable taking a `FeedsAlert` (a webhook poster,
a pager). `register_alert_hook` adds one; until one is registered, the error line in the log is the alert.
Messages are redacted before they leave (an S3 error can carry a signed URL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field

from resources.redact import redact_text

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


def raise_alert(alert: FeedsAlert) -> None:
    """Log the alert as one error line and hand it to every hook (a failing hook is logged, never raised)."""
    log.error(alert.line() + ("" if _HOOKS else " (no alert hook registered: this log line is the alert)"))
    for hook in list(_HOOKS):
        try:
            hook(alert)
        except Exception:  # an alerting outage must not hide the deliveries' own outcome
            log.exception("feeds: alert hook %r failed", hook)
