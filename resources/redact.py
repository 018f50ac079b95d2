"""Keep secrets out of anything stored, logged or shown: URLs, messages and metadata."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

_SECRET_NAMES = r"api_key|apikey|api-key|app_token|\$\$app_token|token|key|access_key|signature"
_SECRET_PARAMS = re.compile(rf"(?i)([?&](?:{_SECRET_NAMES})=)[^&#\s]*")
_SECRET_NAME = re.compile(rf"(?i)(?:{_SECRET_NAMES})")
_SECRET_HEADERS = frozenset({"authorization", "x-app-token", "x-api-key", "cookie"})


def redact_url(url: str) -> str:
    """Drop credentials from a URL's query string."""
    return _SECRET_PARAMS.sub(r"\1***", url)


def redact_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Redact URL credentials and any literal secret values from free text."""
    text = redact_url(text)
    for secret in secrets:
        for form in {secret, quote(secret, safe="")}:
            if form and len(form) >= 4:
                text = text.replace(form, "***")
    return text


def is_secret_header(name: str) -> bool:
    return name.lower() in _SECRET_HEADERS


class RedactUrlsFilter(logging.Filter):
    """httpx logs every request URL at INFO, query string included; mask credentials before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = redact_url(record.getMessage())
            record.args = ()
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def install_http_log_redaction() -> None:
    """Attach the filter to the HTTP libraries' loggers (idempotent)."""
    for name in ("httpx", "httpcore", "urllib3"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUrlsFilter) for f in logger.filters):
            logger.addFilter(RedactUrlsFilter())


def request_secrets(query: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]] = ()) -> tuple[str, ...]:
    """The credential values a request carries: secret query parameters and secret headers."""
    found = [v for k, v in query if _SECRET_NAME.fullmatch(k)]
    found += [v for k, v in headers if is_secret_header(k)]
    return tuple(sorted({v for v in found if v and len(v) >= 4}, key=len, reverse=True))


def mask_bytes(body: bytes, secrets: Iterable[str]) -> bytes:
    """`body` with every secret value (raw or URL-encoded) replaced by `***`; the same object when none occurs."""
    out = body
    for secret in secrets:
        for form in {secret, quote(secret, safe="")}:
            raw = form.encode()
            if len(raw) >= 4 and raw in out:
                out = out.replace(raw, b"***")
    return out
