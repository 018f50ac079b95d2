"""HTTP for every source client: httpx for transport, tenacity for retries, one total deadline per request.

Retried: 429 (waiting what Retry-After asks, capped), 5xx, timeouts, dropped connections and bodies cut short
of their Content-Length. Not retried: other 4xx (and parse errors, which happen after the fetch). The deadline
(`http_deadline_s`) covers every attempt and wait of one `get`: the body is read chunk by chunk and given up as
soon as the deadline passes, so a publisher trickling a few bytes a second cannot hold an ingest (each read
also waits at most what is left of the deadline). What still fails raises a typed error naming the source and
the URL: `SourceUnavailableError`, or `TruncatedBodyError` (a `TruncatedPayloadError` too) for a body that
kept arriving short. The bytes of the last cut attempt are handed to `keep_cut_body` (when given) before that
error is raised, so the ingest keeps them in bronze byte for byte with a quarantine record pointing to them.

Secrets: the values of credential query parameters and headers sent with a request are masked (`***`) in the
body handed back and in every error message, so a key a publisher echoes back is stored and shown nowhere.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from resources.errors import SourceUnavailableError, TruncatedBodyError
from resources.redact import install_http_log_redaction, mask_bytes, redact_text, redact_url, request_secrets
from resources.settings import Settings

log = logging.getLogger(__name__)
install_http_log_redaction()
USER_AGENT = "nexus-lakehouse/0.1 (+https://github.com/nexus-lakehouse)"
_EXCERPT = 300  # characters of a refusal's body quoted in the error


class RetryableHTTPError(Exception):
    def __init__(self, status: int, retry_after: float | None, url: str) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} from {url}")


class CutShortError(Exception):
    """The connection ended before the body reached its Content-Length (retried; typed once retries run out)."""

    def __init__(self, received: int, expected: int | None, partial: bytes = b"") -> None:
        self.received = received
        self.expected = expected
        self.partial = partial  # the bytes that did arrive, as they came over the wire
        of = f" of {expected}" if expected is not None else ""
        super().__init__(f"body cut short: {received}{of} bytes")


@dataclass(frozen=True)
class CutBody:
    """What arrived of a body that stayed cut after every retry (secrets sent with the request masked)."""

    source: str
    dataset: str | None
    location: str  # the URL, redacted
    data: bytes
    reason: str
    fetched_at: datetime


CutBodySink = Callable[[CutBody], str]  # keeps the bytes; returns where (e.g. the bronze sha256)


class DeadlineExceededError(httpx.TimeoutException):
    """The request's total deadline passed while its body was still arriving."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    deadline_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.http_max_attempts, settings.http_backoff_s, settings.http_max_backoff_s, settings.http_deadline_s
        )


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
    return isinstance(exc, RetryableHTTPError | CutShortError | httpx.TimeoutException | httpx.TransportError)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


class HttpFetcher:
    """A small GET client shared by all source clients of one run."""

    def __init__(
        self,
        *,
        source: str,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        keep_cut_body: CutBodySink | None = None,
    ) -> None:
        self.source = source
        self.keep_cut_body = keep_cut_body
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=True,
        )
        self.attempts = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        source: str,
        headers: Mapping[str, str] | None = None,
        keep_cut_body: CutBodySink | None = None,
    ) -> HttpFetcher:
        return cls(
            source=source,
            timeout_s=settings.http_timeout_s,
            policy=RetryPolicy.from_settings(settings),
            headers=headers,
            keep_cut_body=keep_cut_body,
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

    def _once(self, url: str, params: Mapping[str, object] | None, deadline: float) -> httpx.Response:
        """One attempt: the whole body read before `deadline` (monotonic), checked against its Content-Length."""
        self.attempts += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceededError("deadline passed before the request was sent")
        request = self._client.build_request(
            "GET",
            url,
            params=params,
            timeout=httpx.Timeout(min(self.timeout_s, remaining)),  # type: ignore[arg-type]
        )
        response = self._client.send(request, stream=True)
        chunks: list[bytes] = []
        try:
            shown = redact_url(str(response.request.url))
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableHTTPError(
                    response.status_code, parse_retry_after(response.headers.get("Retry-After")), shown
                )
            try:
                for chunk in response.iter_raw():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise DeadlineExceededError(
                            f"deadline of {self.policy.deadline_s:g} s passed after {sum(map(len, chunks))} bytes"
                        )
            except httpx.RemoteProtocolError:  # closed before the declared length or the last chunk
                raise CutShortError(sum(map(len, chunks)), _content_length(response), b"".join(chunks)) from None
        finally:
            response.close()
        raw = b"".join(chunks)
        expected = _content_length(response)
        if expected is not None and len(raw) < expected:
            raise CutShortError(len(raw), expected, raw)
        done = httpx.Response(response.status_code, headers=response.headers, content=raw, request=response.request)
        done.read()  # decodes any Content-Encoding
        return _with_body(done, done.content)

    def get(
        self, url: str, params: Mapping[str, object] | None = None, *, dataset: str | None = None
    ) -> httpx.Response:
        """GET with retries within the deadline; returns a 2xx/3xx response with sent secrets masked in its body.

        Raises `SourceUnavailableError` for a 4xx (its body quoted, redacted) or when retries or the deadline run
        out, `TruncatedBodyError` when the body kept arriving short of its Content-Length.
        """
        full = httpx.URL(url, params=params) if params else httpx.URL(url)
        secrets = request_secrets(full.params.multi_items(), self._client.headers.items())
        shown = redact_text(str(full), secrets)
        deadline = time.monotonic() + self.policy.deadline_s
        first = self.attempts
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts) | stop_before_delay(self.policy.deadline_s),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "%s: attempt %d failed (%s); retrying",
                self.source,
                s.attempt_number,
                redact_text(str(s.outcome.exception() if s.outcome else ""), secrets),
            ),
        )

        def fail(reason: str, kind: type[SourceUnavailableError] = SourceUnavailableError, note: str = ""):
            tried = self.attempts - first
            return kind(
                redact_text(f"{reason} after {tried} attempts{note}", secrets),  # assets/retries.py reads this
                source=self.source,
                dataset=dataset,
                location=shown,
            )

        try:
            response = retrying(self._once, url, params, deadline)
        except RetryableHTTPError as exc:
            raise fail(f"HTTP {exc.status}") from None
        except CutShortError as exc:
            raise fail(str(exc), TruncatedBodyError, self._keep(exc, dataset, shown, secrets)) from None
        except DeadlineExceededError as exc:
            raise fail(f"total deadline exceeded ({exc})") from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from None
        body = mask_bytes(response.content, secrets)
        if response.status_code >= 400:
            excerpt = " ".join(body[: _EXCERPT * 4].decode("utf-8", errors="replace")[:_EXCERPT].split())
            refused = SourceUnavailableError(
                redact_text(f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else ""), secrets),
                source=self.source,
                dataset=dataset,
                location=shown,
            )
            refused.status, refused.body = response.status_code, body  # type: ignore[attr-defined]
            raise refused
        return response if body is response.content else _with_body(response, body)

    def _keep(self, exc: CutShortError, dataset: str | None, shown: str, secrets: tuple[str, ...]) -> str:
        """Hand the cut body to `keep_cut_body`; the note for the error message says where it is kept."""
        if self.keep_cut_body is None:
            return ""
        body = CutBody(
            source=self.source,
            dataset=dataset,
            location=shown,
            data=mask_bytes(exc.partial, secrets),
            reason=redact_text(f"{exc} (the body stayed cut after every retry)", secrets),
            fetched_at=datetime.now(UTC),
        )
        where = self.keep_cut_body(body)
        return f"; the {len(body.data):,} bytes received are kept in bronze ({where})"


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """The response with `body` as its (already decoded) content: encoding and length headers dropped."""
    headers = [
        (k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-encoding", "content-length")
    ]
    done = httpx.Response(response.status_code, headers=headers, content=body, request=response.request)
    done.read()
    return done
