"""Get EIA data: API v2 pages over HTTP (live or simulated publisher), or EIA's download CSVs from disk.

One request per route and page: every wanted series of a route is asked for at once (`facets[series][]`), sorted
by period then series, 5000 rows per page, following `offset` until `response.total` rows have come. Each HTTP
response is one bronze payload. The API key is added to the query only when the request is sent: payload
locations are built without it, and EIA's echo of the request (`request.params.api_key` in every response body)
is masked before the body is kept, so the key never reaches bronze, errors or metadata (httpx's request log lines
are redacted by `resources.http`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.sources.eia.download_csv import HEADER_FIRST, series_from_preamble
from resources.sources.eia.spec import PAGE_SIZE, SERIES, SOURCE, Cadence, Route
from resources.sources.files import find_files, payload_from_file

log = logging.getLogger(__name__)
MASK = b"***"
_MAX_PAGES = 200  # 1M rows per route: far beyond any query here, a guard against a publisher that never ends


class EiaClient:
    def __init__(
        self,
        fetcher: HttpFetcher,
        base_url: str,
        api_key: SecretStr | None,
        *,
        as_of: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.as_of = as_of
        self.page_size = min(page_size, PAGE_SIZE)

    def url(self, route: Route) -> str:
        return f"{self.base_url}/{route.path}/data/"

    def params(
        self, route: Route, series: Sequence[str], start: date | None, end: date | None, offset: int
    ) -> dict[str, str | list[str]]:
        """The query of one page, without the API key."""
        params: dict[str, str | list[str]] = {
            "frequency": route.frequency,
            "data[0]": "value",
            "facets[series][]": list(series),
        }
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        params.update(
            {
                "sort[0][column]": "period",
                "sort[0][direction]": "asc",
                "sort[1][column]": "series",
                "sort[1][direction]": "asc",
                "offset": str(offset),
                "length": str(self.page_size),
            }
        )
        return params

    def fetch(self, route: Route, series: Sequence[str], start: date | None, end: date | None) -> list[RawPayload]:
        """Every page of `series` on `route` with periods in [start, end] (None: unbounded)."""
        payloads: list[RawPayload] = []
        offset = 0
        for _ in range(_MAX_PAGES):
            params = self.params(route, series, start, end, offset)
            location = str(httpx.URL(self.url(route), params=params))
            response = self.fetcher.get(self.url(route), params=self._with_key(params), dataset=route.dataset)
            payload = RawPayload(
                source=SOURCE,
                dataset=route.dataset,
                location=location,
                data=self._masked(response.content),
                fetched_at=datetime.now(UTC),
                media_type=response.headers.get("Content-Type"),
                as_of=self.as_of,
            )
            payloads.append(payload)
            page = _page_size_and_total(payload.data)
            if page is None:  # not a data page: the parser reports it with its bytes in bronze
                break
            rows, total = page
            offset += rows
            if rows == 0 or offset >= total:
                break
        else:
            log.warning("%s: %s stopped after %d pages", SOURCE, route.path, _MAX_PAGES)
        return payloads

    def _with_key(self, params: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        if self._api_key is None:
            return params
        return {**params, "api_key": self._api_key.get_secret_value()}

    def _masked(self, body: bytes) -> bytes:
        """The response body with EIA's echo of the API key masked."""
        if self._api_key is None:
            return body
        key = self._api_key.get_secret_value().encode()
        return body.replace(key, MASK) if len(key) >= 4 else body


def _page_size_and_total(body: bytes) -> tuple[int, int] | None:
    """(rows on this page, total rows of the query) of an API v2 data page, or None if it is not one."""
    try:
        response = json.loads(body).get("response", {})
        return len(response["data"]), int(response["total"])
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """Every EIA download CSV under the given files or folders, dataset named after the series it holds.

    A file whose series cannot be read from its preamble keeps its file name as dataset; the parser refuses it.
    """
    payloads = []
    for path in find_files(roots, ("*.csv", "*.CSV")):
        data = path.read_bytes()
        lines = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:12]
        dataset = series_from_preamble(lines) or path.stem
        payloads.append(payload_from_file(path, source=SOURCE, dataset=dataset, media_type="text/csv"))
    return payloads


def file_cadence(payload: RawPayload) -> Cadence | None:
    """'weekly' or 'daily' from a download CSV's column header (`Week of` / `Day`); None if neither shows."""
    head = payload.data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:14]
    for line in head:
        cadence = HEADER_FIRST.get(line.split(",", 1)[0].strip().lower())
        if cadence is not None:
            return cadence
    known = SERIES.get(series_from_preamble(head) or "")  # a `Date` header (xls sheet): the series' own cadence
    return known.cadence if known is not None else None
