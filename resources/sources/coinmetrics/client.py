"""Get Coin Metrics data: API v4 pages over HTTP (live or simulated publisher) or community CSVs from disk.

One request asks for every asset and metric at once with `ignore_unsupported_errors=true` (ETH publishes no
HashRate: its rows simply lack the key) and `ignore_forbidden_errors=true` (the community tier has moved some
metrics, realized cap among them, behind a key at times: they are left out instead of failing the run). Pages are
followed until the answer has no next page; each HTTP response is one bronze payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from resources.errors import SourceDataError
from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.redact import redact_url
from resources.sources.coinmetrics.parser import asset_from_name
from resources.sources.coinmetrics.spec import (
    API_DATASET,
    ASSET_METRICS_PATH,
    ASSET_RE,
    DEFAULT_ASSETS,
    DEFAULT_METRICS,
    FREQUENCY,
    MAX_PAGES,
    PAGE_SIZE,
    SOURCE,
)
from resources.sources.files import find_files, payload_from_file


class CoinMetricsClient:
    """`/timeseries/asset-metrics` for a set of assets and metrics, paged from the start of the window."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        base_url: str,
        *,
        as_of: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")
        self.as_of = as_of
        self.page_size = page_size

    @property
    def url(self) -> str:
        return self.base_url + ASSET_METRICS_PATH

    def params(
        self, assets: Sequence[str], metrics: Sequence[str], start: date | None, end: date | None
    ) -> dict[str, str]:
        params = {
            "assets": ",".join(assets),
            "metrics": ",".join(metrics),
            "frequency": FREQUENCY,
            "page_size": str(self.page_size),
            "paging_from": "start",
            "ignore_unsupported_errors": "true",
            "ignore_forbidden_errors": "true",
        }
        if start is not None:
            params["start_time"] = start.isoformat()
        if end is not None:
            params["end_time"] = end.isoformat()
        return params

    def fetch(
        self,
        assets: Sequence[str] = DEFAULT_ASSETS,
        metrics: Sequence[str] = DEFAULT_METRICS,
        *,
        start: date | None = None,
        end: date | None = None,
    ) -> list[RawPayload]:
        """Every page of the answer for UTC days in [start, end] (None: no bound), one payload per response."""
        base = self.params(assets, metrics, start, end)
        url: str = self.url
        params: dict[str, str] | None = dict(base)
        payloads: list[RawPayload] = []
        followed: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self.fetcher.get(url, params=params, dataset=API_DATASET)
            payloads.append(
                RawPayload(
                    source=SOURCE,
                    dataset=API_DATASET,
                    location=redact_url(str(response.request.url)),
                    data=response.content,
                    fetched_at=datetime.now(UTC),
                    media_type=response.headers.get("Content-Type"),
                    as_of=self.as_of,
                )
            )
            following = self._next(response.content, base)
            if following is None:
                return payloads
            url, params = following
            marker = url + json.dumps(params, sort_keys=True)
            if marker in followed:
                raise SourceDataError(
                    "pagination loops: the publisher returned the same next page twice",
                    source=SOURCE,
                    dataset=API_DATASET,
                    location=redact_url(url),
                )
            followed.add(marker)
        raise SourceDataError(
            f"more than {MAX_PAGES} pages", source=SOURCE, dataset=API_DATASET, location=redact_url(self.url)
        )

    def _next(self, body: bytes, base: dict[str, str]) -> tuple[str, dict[str, str] | None] | None:
        """(url, params) of the next page, or None on the last page or when the body is not a page at all.

        `next_page_url` is followed when it points at our own endpoint; otherwise the page token is sent with our
        own parameters (as Coin Metrics' Python client does), so a request never leaves the configured base URL.
        An unreadable body ends the paging: the parser then reports it with the page's location.
        """
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        next_url, token = doc.get("next_page_url"), doc.get("next_page_token")
        if isinstance(next_url, str) and next_url:
            target = urlsplit(next_url)
            own = urlsplit(self.url)
            if (target.scheme, target.netloc, target.path) == (own.scheme, own.netloc, own.path):
                return next_url, None
            if not isinstance(token, str):
                token = (parse_qs(target.query).get("next_page_token") or [None])[0]
        if isinstance(token, str) and token:
            return self.url, {**base, "next_page_token": token}
        return None


def is_community_csv(path: Path) -> bool:
    """Community files are named after a lowercase asset id (`btc.csv`); other publishers' CSVs are not."""
    return path.suffix.lower() == ".csv" and path.stem == path.stem.lower() and bool(ASSET_RE.match(path.stem))


def payloads_from_files(roots: Iterable[Path]) -> list[RawPayload]:
    """Community CSVs: files given by path, and `<asset>.csv` files found under given folders."""
    roots = [Path(r) for r in roots]
    explicit = {r.resolve() for r in roots if r.is_file()}
    paths = [p for p in find_files(roots, ("*.csv",)) if p in explicit or is_community_csv(p)]
    return [payload_from_file(p, source=SOURCE, dataset=asset_from_name(p.name), media_type="text/csv") for p in paths]
