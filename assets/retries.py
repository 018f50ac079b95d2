"""Step retries for transient publisher faults only.

The HTTP layer already retries each request a few times (resources/http.py). When a publisher stays down past
those attempts (5xx, 429, timeouts, dropped connections) the ingest step fails with `SourceUnavailableError`, and
Dagster retries the whole step later with exponential backoff: a publisher that is down for minutes is waited out.
Everything else is final at once: a payload that breaks its format (`SourceDataError`), a 4xx other than 429, or a
bug would fail identically on every retry, so it is raised as a non-retryable `Failure` naming the cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, RetryPolicy

from resources.errors import SourceUnavailableError

INGEST_RETRY_POLICY = RetryPolicy(max_retries=3, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
"""Up to 3 step retries after ~30 s, ~60 s and ~120 s (each +/- jitter)."""

# resources/http.py names exhausted retryable faults "HTTP 503 after 5 attempts" / "ReadTimeout after 5 attempts";
# a final 4xx is "HTTP 404: <excerpt>" (no attempts: it was never retryable).
_EXHAUSTED = re.compile(r"\bafter \d+ attempts\b")


def is_transient(exc: BaseException) -> bool:
    """A publisher fault that a later attempt may not meet: retryable HTTP statuses and network errors only."""
    return isinstance(exc, SourceUnavailableError) and bool(_EXHAUSTED.search(exc.reason))


@contextmanager
def transient_faults_retried() -> Iterator[None]:
    """Let transient faults reach the step's RetryPolicy; turn every other error into a non-retryable Failure."""
    try:
        yield
    except Failure:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc
