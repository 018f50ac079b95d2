"""HTTP for every source client: httpx for transport, tenacity for retries.

Retried: 429 (waiting what Retry-After asks, capped), 5xx, timeouts, dropped connections and bodies cut short
of their Content-Length. Not retried: other 4xx. Whatever still fails raises `SourceUnavailableError` naming
the source and the URL with credentials redacted.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from resources.errors import SourceUnavailableError
from resources.redact import install_http_log_redaction, redact_url
from resources.settings import Settings

log = logging.getLogger(__name__)
install_http_log_redaction()
USER_AGENT = "nexus-lakehouse/0.1 (+https://github.com/nexus-lakehouse)"


class RetryableHTTPError(Exception):
    def __init__(self, status: int, retry_after: float | None, url: str) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} from {url}")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.http_max_attempts, settings.http_backoff_s, settings.http_max_backoff_s)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableHTTPError | httpx.TimeoutException | httpx.TransportError)


class HttpFetcher:
    """A small GET client shared by all source clients of one run."""

    def __init__(
        self,
        *,
        source: str,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: object = time.sleep,
    ) -> None:
        self.source = source
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=True,
        )
        self.attempts = 0

    @classmethod
    def from_settings(cls, settings: Settings, source: str, headers: Mapping[str, str] | None = None) -> HttpFetcher:
        return cls(
            source=source,
            timeout_s=settings.http_timeout_s,
            policy=RetryPolicy.from_settings(settings),
            headers=headers,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        cap = self.policy.max_backoff_s
        if isinstance(exc, RetryableHTTPError) and exc.retry_after is not None:
            return min(exc.retry_after, cap)
        base = self.policy.backoff_s * (2 ** (state.attempt_number - 1))
        return min(cap, base + random.uniform(0, self.policy.backoff_s))

    def _once(self, url: str, params: Mapping[str, object] | None) -> httpx.Response:
        self.attempts += 1
        response = self._client.get(url, params=params)  # type: ignore[arg-type]
        shown = redact_url(str(response.request.url))
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableHTTPError(
                response.status_code, parse_retry_after(response.headers.get("Retry-After")), shown
            )
        expected = response.headers.get("Content-Length")
        cut_short = expected is not None and expected.isdigit() and int(expected) != len(response.content)
        if cut_short and "content-encoding" not in response.headers:
            raise httpx.RemoteProtocolError(f"body cut short: {len(response.content)} of {expected} bytes")
        return response

    def get(
        self, url: str, params: Mapping[str, object] | None = None, *, dataset: str | None = None
    ) -> httpx.Response:
        """GET with retries; returns a 2xx/3xx/4xx response (not 429), raises after the last attempt."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,  # type: ignore[arg-type]
            reraise=True,
            before_sleep=lambda s: log.warning(
                "%s: attempt %d failed (%s); retrying", self.source, s.attempt_number, s.outcome.exception()
            ),
        )
        shown = redact_url(str(httpx.URL(url, params=params))) if params else redact_url(url)
        try:
            response = retrying(self._once, url, params)
        except RetryableHTTPError as exc:
            raise SourceUnavailableError(
                f"HTTP {exc.status} after {self.policy.max_attempts} attempts",
                source=self.source,
                dataset=dataset,
                location=shown,
            ) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise SourceUnavailableError(
                f"{type(exc).__name__} after {self.policy.max_attempts} attempts: {redact_url(str(exc))}",
                source=self.source,
                dataset=dataset,
                location=shown,
            ) from None
        if response.status_code >= 400:
            excerpt = redact_url(" ".join(response.text[:300].split())) if response.content else ""
            raise SourceUnavailableError(
                f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else ""),
                source=self.source,
                dataset=dataset,
                location=shown,
            )
        return response
