"""Get COT reports: pages of CFTC's Socrata API (live or simulated publisher), or annual files from disk.

API: one dataset per report and flavour (futures-only or combined), only the requested market codes, report
dates in [start, end], ordered by (report date, market code) and paged with `$limit`/`$offset` until a short page.
Each HTTP response becomes one bronze payload. The optional app token goes in the `X-App-Token` header, which
`HttpFetcher` never logs; payload locations are redacted URLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.redact import redact_url
from resources.settings import Settings
from resources.sources.cot.layouts import LAYOUTS, ReportKind, ReportLayout
from resources.sources.cot.parser import identify
from resources.sources.cot.socrata import ORDER, page_length, soql_where
from resources.sources.cot.spec import API_PATH, DEFAULT_PAGE_SIZE, SOURCE
from resources.sources.files import find_files

# .csv: the reporting site export; .xls: the historical Excel files (zipped as `*_xls_<year>.zip`, or unzipped)
FILE_PATTERNS = ("*.txt", "*.TXT", "*.zip", "*.ZIP", "*.csv", "*.CSV", "*.xls", "*.XLS", "*.xlsx")


def app_token_headers(settings: Settings) -> dict[str, str]:
    """Socrata's app-token header when a token is configured (read here, at request time, never stored)."""
    token = settings.cftc_app_token.get_secret_value() if settings.cftc_app_token else ""
    return {"X-App-Token": token} if token else {}


class CotApiClient:
    """Pages of one COT dataset for a set of market codes."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        base_url: str,
        *,
        as_of: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.as_of = as_of
        self.page_size = page_size

    def url(self, layout: ReportLayout, futures_only: bool) -> str:
        return self.base_url + API_PATH.format(dataset_id=layout.dataset_ids[futures_only])

    def fetch(
        self,
        report: ReportKind,
        markets: Sequence[str],
        *,
        futures_only: bool = True,
        start: date | None = None,
        end: date | None = None,
    ) -> list[RawPayload]:
        """Every page of the report for `markets` with report dates in [start, end]."""
        layout = LAYOUTS[report]
        dataset = layout.dataset(futures_only)
        url = self.url(layout, futures_only)
        where = soql_where(sorted(set(markets)), start, end)
        payloads: list[RawPayload] = []
        offset = 0
        while True:
            params = {"$where": where, "$order": ORDER, "$limit": self.page_size, "$offset": offset}
            response = self.fetcher.get(url, params, dataset=dataset)
            payloads.append(
                RawPayload(
                    source=SOURCE,
                    dataset=dataset,
                    location=redact_url(str(response.request.url)),
                    data=response.content,
                    fetched_at=datetime.now(UTC),
                    media_type=response.headers.get("Content-Type"),
                    as_of=self.as_of,
                )
            )
            rows = page_length(response.content)
            if rows is None or rows < self.page_size:  # a short page ends the paging; a non-array ends it too
                return payloads
            offset += self.page_size


def _guess_dataset(path: Path) -> str:
    """For a file whose header names no report: a dataset from its name, so its error is filed somewhere sensible."""
    name = path.name.lower()
    report: ReportKind = (
        "tff" if "fin" in name else "disaggregated" if "disagg" in name or "_year" in name else "legacy"
    )
    return LAYOUTS[report].dataset(True)


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """Every annual report file (text or zip) under the given files or folders, dataset read from its header."""
    payloads = []
    for path in find_files(roots, FILE_PATTERNS):
        data = path.read_bytes()
        media_type = "application/zip" if data.startswith(b"PK") else "text/plain"
        payload = RawPayload(
            source=SOURCE,
            dataset=_guess_dataset(path),
            location=str(path),
            data=data,
            fetched_at=datetime.now(UTC),
            media_type=media_type,
        )
        found = identify(payload)
        if found is not None:
            layout, futures_only = found
            payload = replace(payload, dataset=layout.dataset(futures_only))
        payloads.append(payload)
    return payloads
