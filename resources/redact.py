"""Keep secrets out of anything stored, logged or shown: URLs, messages and metadata."""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:api_key|apikey|api-key|app_token|\$\$app_token|token|key|access_key|signature)=)[^&#\s]*"
)
_SECRET_HEADERS = frozenset({"authorization", "x-app-token", "x-api-key", "cookie"})


def redact_url(url: str) -> str:
    """Drop credentials from a URL's query string."""
    return _SECRET_PARAMS.sub(r"\1***", url)


def redact_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Redact URL credentials and any literal secret values from free text."""
    text = redact_url(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
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
