"""Get FRED answers through fredapi, with every request going through the project's HttpFetcher.

fredapi (0.5.2) builds the request URLs from its `root_url` (set to `settings.fred_base_url` live, or to the
simulated publisher) and sends them with urllib in a private method. `RoutedFred` overrides that one method so
each request goes through `HttpFetcher` (retries, Retry-After, backoff, truncation checks) and its bytes are kept
as a `RawPayload` for bronze. The API key is added to the request only at send time, read from the SecretStr
then: payload locations, errors and logs carry the URL without it.

Observations are asked for with the whole real-time period (realtime_start=1776-07-04) so each row's
realtime_start is its vintage's true first day, up to realtime_end = the as-of date, page by page
(limit/offset) until FRED's `count` is reached.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fredapi import Fred
from pydantic import SecretStr

from resources.errors import SourceUnavailableError
from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.redact import install_http_log_redaction, redact_text
from resources.sources.files import find_files, payload_from_file
from resources.sources.fred.parser import series_from_name
from resources.sources.fred.spec import EARLIEST_REALTIME, LATEST_REALTIME, MAX_LIMIT, SOURCE
from resources.sources.fred.wire import error_message, page_info

FileType = Literal["xml", "json"]
_MAX_PAGES = 1_000


def install_log_redaction() -> None:
    """Kept for callers of this module; the shared HTTP module installs the same filter."""
    install_http_log_redaction()


class FredFetcher(HttpFetcher):
    """HttpFetcher that keeps the body of a refused request: FRED's 400 says why (unknown series, bad key)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.last_refusal: httpx.Response | None = None

    def _once(self, url: str, params: Mapping[str, object] | None) -> httpx.Response:
        self.last_refusal = None
        response = super()._once(url, params)
        self.last_refusal = response if 400 <= response.status_code < 500 else None
        return response


class RoutedFred(Fred):
    """fredapi's Fred with its root URL set and its private fetch routed to `transport`."""

    def __init__(self, root_url: str, transport: Callable[[str], ET.Element]) -> None:
        # Fred.__init__ is skipped on purpose: it insists on a key at construction (ours is added per request)
        # and may install a process-wide urllib proxy opener, which nothing here uses.
        self.root_url = root_url.rstrip("/")
        self.api_key = None
        self.proxies = None
        self._transport = transport

    def _fetch_routed(self, url: str) -> ET.Element:
        return self._transport(url)

    # fredapi calls `self.__fetch_data(url)`, which Python name-mangles to this attribute.
    _Fred__fetch_data = _fetch_routed


def _for_fredapi(data: bytes, tag: str) -> ET.Element:
    """What fredapi gets back: series metadata parsed, observations as their envelope only.

    fredapi converts each observation with pandas.to_datetime (about 0.15 ms a row, seconds for a few series'
    vintages) and keeps only date -> value, so it gets the page's envelope and our parser reads the rows.
    Anything that is not the expected XML becomes an empty element; our parser says what it is.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return ET.Element(tag)
    if root.tag != tag:
        return ET.Element(tag)
    return root if tag == "seriess" else ET.Element(tag, root.attrib)


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
        install_log_redaction()
        self.fetcher = fetcher
        self.as_of = as_of
        self.page_size = page_size
        self.file_type = file_type
        self._api_key = api_key
        self._captured: list[RawPayload] = []
        self.fred = RoutedFred(base_url, self._send)

    @property
    def root_url(self) -> str:
        return self.fred.root_url

    def _send(self, url: str) -> ET.Element:
        """fredapi's fetch: add the key, GET through HttpFetcher, keep the bytes as a payload, answer fredapi."""
        query = parse_qs(urlsplit(url).query)
        series_id = query.get("series_id", ["?"])[0]
        key = self._api_key.get_secret_value()
        wire_url = f"{url}{'&' if '?' in url else '?'}{urlencode({'api_key': key})}"
        try:
            response = self.fetcher.get(wire_url, dataset=series_id)
        except SourceUnavailableError as exc:
            refusal = getattr(self.fetcher, "last_refusal", None)
            message = error_message(refusal.content) if refusal is not None else None
            reason = exc.reason if message is None else f"HTTP {refusal.status_code}: {message}"  # type: ignore[union-attr]
            raise SourceUnavailableError(
                redact_text(reason, [key]), source=SOURCE, dataset=series_id, location=url
            ) from None
        self._captured.append(
            RawPayload(
                source=SOURCE,
                dataset=series_id,
                location=url,
                data=response.content,
                fetched_at=datetime.now(UTC),
                media_type=response.headers.get("Content-Type"),
                as_of=self.as_of,
            )
        )
        return _for_fredapi(response.content, "seriess" if urlsplit(url).path.endswith("/series") else "observations")

    def _call(self, request: Callable[[], object]) -> RawPayload:
        """Run one fredapi call and return the payload it fetched."""
        before = len(self._captured)
        try:
            request()
        except ValueError:
            if len(self._captured) == before:
                raise  # failed before sending anything: a bad argument on our side
            # fredapi could not convert FRED's answer (a non-numeric value, no series): our parser will say why
        if len(self._captured) != before + 1:
            raise RuntimeError(f"expected one FRED request, saw {len(self._captured) - before}")
        return self._captured[-1]

    def series_info(self, series_id: str) -> RawPayload:
        """fred/series for one series (title, units, frequency, seasonal adjustment, last update)."""
        if self.file_type == "xml":
            return self._call(lambda: self.fred.get_series_info(series_id))
        # fredapi's get_series_info takes no extra parameters: the same URL with file_type added
        url = f"{self.root_url}/series?{urlencode({'series_id': series_id, 'file_type': self.file_type})}"
        return self._call(lambda: self.fred._Fred__fetch_data(url))

    def observations(self, series_id: str, *, start: date | None, end: date | None) -> list[RawPayload]:
        """Every vintage of the series' observations dated [start, end], as known at the end of `end`."""
        realtime_end = end or LATEST_REALTIME
        pages: list[RawPayload] = []
        offset = 0
        for _ in range(_MAX_PAGES):
            params: dict[str, object] = {
                "realtime_start": EARLIEST_REALTIME.isoformat(),
                "realtime_end": realtime_end.isoformat(),
                "limit": self.page_size,
                "offset": offset,
                "sort_order": "asc",
            }
            if self.file_type != "xml":
                params["file_type"] = self.file_type
            pages.append(
                self._call(
                    lambda p=params: self.fred.get_series(series_id, observation_start=start, observation_end=end, **p)
                )
            )
            info = page_info(pages[-1].data)
            if info is None or info.offset + info.limit >= info.count or info.limit <= 0:
                return pages
            offset = info.offset + info.limit
        raise SourceUnavailableError(
            f"more than {_MAX_PAGES} pages", source=SOURCE, dataset=series_id, location=pages[-1].location
        )


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """FRED CSV downloads under the given files or folders, dataset named after the series.

    Ordered by the last date each file holds, so that of two downloads of one series the older content lands
    first and a value changed since becomes a new version of the later one, not the other way round.
    """
    paths = find_files(roots, ("*.csv", "*.CSV"))
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
    return lines[-1].split(",", 1)[0].strip() if lines else ""
