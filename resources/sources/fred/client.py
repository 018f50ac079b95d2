"""Get FRED answers over plain HTTP from the documented endpoints, every request through `HttpFetcher`.

`fred/series/observations` and `fred/series` (https://fred.stlouisfed.org/docs/api/fred/series_observations.html,
https://fred.stlouisfed.org/docs/api/fred/series.html) are asked for directly: fredapi's public API sends its
own urllib requests and keeps only date -> value, so it cannot give bronze the publisher's bytes nor go through
the shared retries and deadline. The API key is added only when the request is sent (HttpFetcher masks it in
bodies and errors); payload locations carry the URL without it.

Observations are asked for with the whole real-time period (realtime_start=1776-07-04) so each row's
realtime_start is its vintage's true first day (a narrower real-time window clips it), up to realtime_end = the
as-of date, page by page (limit/offset) until FRED's `count` is reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from resources.errors import SourceUnavailableError
from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.redact import install_http_log_redaction
from resources.sources.files import find_files, payload_from_file
from resources.sources.fred.parser import series_from_name
from resources.sources.fred.spec import (
    EARLIEST_REALTIME,
    LATEST_REALTIME,
    MAX_LIMIT,
    OBSERVATIONS_PATH,
    SERIES_PATH,
    SOURCE,
)
from resources.sources.fred.wire import error_message, page_info

FileType = Literal["xml", "json"]
_MAX_PAGES = 1_000

# Kept so that an HttpFetcher named like this one still reads well at call sites.
FredFetcher = HttpFetcher


def install_log_redaction() -> None:
    """Kept for callers of this module; the shared HTTP module installs the same filter."""
    install_http_log_redaction()


class FredClient:
    """Observations (all vintages) and series metadata of FRED series, as raw payloads."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        base_url: str,
        api_key: SecretStr,
        *,
        as_of: datetime | None = None,
        page_size: int = MAX_LIMIT,
        file_type: FileType = "xml",
    ) -> None:
        if not 1 <= page_size <= MAX_LIMIT:
            raise ValueError(f"page_size must be 1..{MAX_LIMIT}")
        self.fetcher = fetcher
        self.root_url = base_url.rstrip("/")
        self.as_of = as_of
        self.page_size = page_size
        self.file_type = file_type
        self._api_key = api_key

    def _get(self, path: str, params: dict[str, str], series_id: str) -> RawPayload:
        """One GET with the key added at send time; a FRED refusal is raised with FRED's own message."""
        if self.file_type != "xml":
            params = {**params, "file_type": self.file_type}
        url = f"{self.root_url}{path}"
        location = str(httpx.URL(url, params=params))
        try:
            response = self.fetcher.get(url, {**params, "api_key": self._api_key.get_secret_value()}, dataset=series_id)
        except SourceUnavailableError as exc:
            body = getattr(exc, "body", None)
            message = error_message(body) if body is not None else None
            reason = exc.reason if message is None else f"HTTP {exc.status}: {message}"  # type: ignore[attr-defined]
            raise type(exc)(reason, source=SOURCE, dataset=series_id, location=location) from None
        return RawPayload(
            source=SOURCE,
            dataset=series_id,
            location=location,
            data=response.content,
            fetched_at=datetime.now(UTC),
            media_type=response.headers.get("Content-Type"),
            as_of=self.as_of,
        )

    def series_info(self, series_id: str) -> RawPayload:
        """fred/series for one series (title, units, frequency, seasonal adjustment, last update)."""
        return self._get(SERIES_PATH, {"series_id": series_id}, series_id)

    def observations(self, series_id: str, *, start: date | None, end: date | None) -> list[RawPayload]:
        """Every vintage of the series' observations dated [start, end], as known at the end of `end`."""
        realtime_end = end or LATEST_REALTIME
        pages: list[RawPayload] = []
        offset = 0
        for _ in range(_MAX_PAGES):
            params = {"series_id": series_id}
            if start is not None:
                params["observation_start"] = start.isoformat()
            if end is not None:
                params["observation_end"] = end.isoformat()
            params |= {
                "realtime_start": EARLIEST_REALTIME.isoformat(),
                "realtime_end": realtime_end.isoformat(),
                "limit": str(self.page_size),
                "offset": str(offset),
                "sort_order": "asc",
            }
            pages.append(self._get(OBSERVATIONS_PATH, params, series_id))
            info = page_info(pages[-1].data)
            if info is None or info.offset + info.limit >= info.count or info.limit <= 0:
                return pages
            offset = info.offset + info.limit
        raise SourceUnavailableError(
            f"more than {_MAX_PAGES} pages", source=SOURCE, dataset=series_id, location=pages[-1].location
        )


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """FRED CSV and text downloads under the given files or folders, dataset named after the series.

    Ordered by the last date each file holds, so that of two downloads of one series the older content lands
    first and a value changed since becomes a new version of the later one, not the other way round.
    """
    paths = find_files(roots, ("*.csv", "*.CSV", "*.txt", "*.TXT"))  # CSV downloads and text downloads
    payloads = []
    for path in sorted(paths, key=lambda p: (series_from_name(p.name), _last_date(p), p.name)):
        payloads.append(
            payload_from_file(path, source=SOURCE, dataset=series_from_name(path.name), media_type="text/csv")
        )
    return payloads


def _last_date(path: Path) -> str:
    """The first field of the file's last non-empty line (an ISO date in a FRED download; '' if unreadable)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 256))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = [x for x in tail.splitlines() if x.strip()]
    return lines[-1].replace(",", " ").split()[0] if lines else ""  # CSV or space-aligned text download
