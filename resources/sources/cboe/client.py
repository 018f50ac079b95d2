"""Get Cboe history files: over HTTP (live or simulated publisher) or from files on disk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.sources.cboe.parser import symbol_from_name
from resources.sources.cboe.spec import HISTORY_PATH, SOURCE, SYMBOLS
from resources.sources.files import find_files, payload_from_file


class CboeClient:
    """One GET per index; Cboe serves the full history in each file."""

    def __init__(self, fetcher: HttpFetcher, base_url: str, *, as_of: datetime | None = None) -> None:
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.as_of = as_of

    def url(self, symbol: str) -> str:
        return self.base_url + HISTORY_PATH.format(symbol=symbol)

    def fetch(self, symbols: Sequence[str] = SYMBOLS) -> list[RawPayload]:
        payloads = []
        for symbol in symbols:
            url = self.url(symbol)
            response = self.fetcher.get(url, dataset=symbol)
            payloads.append(
                RawPayload(
                    source=SOURCE,
                    dataset=symbol,
                    location=url,
                    data=response.content,
                    fetched_at=datetime.now(UTC),
                    media_type=response.headers.get("Content-Type"),
                    as_of=self.as_of,
                )
            )
        return payloads


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """Every `*_History.csv` (and older `vixarchive.xls`-style workbook) under the given files or folders, dataset
    named after the index."""
    paths = find_files(roots, ("*_History.csv", "*_history.csv", "*archive.xls", "*archive.xlsx"))
    return [payload_from_file(p, source=SOURCE, dataset=symbol_from_name(p.name), media_type="text/csv") for p in paths]
