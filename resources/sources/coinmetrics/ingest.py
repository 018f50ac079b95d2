"""Land Coin Metrics: get API pages or community CSVs for the current mode, keep them in bronze, merge into silver."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from resources.http import CutBodySink, HttpFetcher
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import RowPolicy
from resources.settings import Settings
from resources.sources.base import IngestReport, land_payloads
from resources.sources.coinmetrics.client import CoinMetricsClient, payloads_from_files
from resources.sources.coinmetrics.parser import parse_coinmetrics
from resources.sources.coinmetrics.spec import ASSET_METRICS, DEFAULT_ASSETS, DEFAULT_METRICS, PAGE_SIZE, SOURCE
from resources.sources.cut_bodies import cut_body_keeper
from resources.sources.endpoints import Endpoints, open_endpoints
from resources.sources.fetch_window import FetchPlan, live_fetch_plan, record_full_refresh
from resources.universe import Universe, get_universe

log = logging.getLogger(__name__)


def universe_request(universe: Universe) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(assets, metrics) to ask Coin Metrics for: the feature lists plus the priced instruments' series and fields."""
    priced = [i.price for i in universe.instruments if i.price.source == "coinmetrics"]
    assets = list(universe.features.coinmetrics.assets) + [p.series.lower() for p in priced]
    metrics = list(universe.features.coinmetrics.metrics) + [p.field for p in priced if p.field]
    return tuple(dict.fromkeys(assets)) or DEFAULT_ASSETS, tuple(dict.fromkeys(metrics)) or DEFAULT_METRICS


def ingest_coinmetrics(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    end: date | None,
    start: date | None = None,
    files: Sequence[Path] | None = None,
    assets: Sequence[str] = DEFAULT_ASSETS,
    metrics: Sequence[str] = DEFAULT_METRICS,
    endpoints: Endpoints | None = None,
    page_size: int = PAGE_SIZE,
) -> IngestReport:
    """Ingest Coin Metrics values for UTC days in [start, end] as known at the end of `end` (None: no bound).

    `endpoints` points the client at a given server (tests run live mode against a local one); otherwise the
    mode's endpoints are opened (the simulated publisher as of `end`, or the live API).
    """
    plan: FetchPlan | None = None
    if endpoints is None and (files or settings.source_mode == "files"):
        roots = list(files or [])
        if not roots:
            if settings.files_dir is None:
                raise ValueError("files mode needs NEXUS_FILES_DIR or --files")
            nested = settings.files_dir / SOURCE
            roots = [nested if nested.is_dir() else settings.files_dir]
        payloads = payloads_from_files(roots)
        if not payloads:
            raise FileNotFoundError(f"no Coin Metrics <asset>.csv files under {', '.join(map(str, roots))}")
    else:
        as_of = end or settings.end_date
        plan = live_fetch_plan(
            storage,
            settings,
            source=SOURCE,
            mode=endpoints.mode if endpoints is not None else settings.source_mode,
            spec=ASSET_METRICS,
            key_column="asset",
            keys=assets,
            requested_start=start,
            as_of=as_of,
        )
        log.info("%s: %s", SOURCE, plan.reason)
        first = plan.start_for(assets)
        keep = cut_body_keeper(storage, run_id)
        if endpoints is not None:
            payloads = _fetch(settings, endpoints, assets, metrics, first, end, page_size, keep)
        else:
            with open_endpoints(settings, as_of) as opened:
                payloads = _fetch(settings, opened, assets, metrics, first, end, page_size, keep)
    report = IngestReport(source=SOURCE, table=ASSET_METRICS.name, run_id=run_id)
    landed = land_payloads(
        storage,
        payloads,
        parse=parse_coinmetrics,
        spec=ASSET_METRICS,
        run_id=run_id,
        since=start,
        until=end,
        report=report,
        policy=RowPolicy(max_bad_row_share=settings.max_bad_row_share),
    )
    if plan is not None and plan.full and (endpoints.mode if endpoints else settings.source_mode) == "live":
        record_full_refresh(storage, SOURCE, as_of)
    return landed


def _fetch(
    settings: Settings,
    endpoints: Endpoints,
    assets: Sequence[str],
    metrics: Sequence[str],
    start: date | None,
    end: date | None,
    page_size: int,
    keep_cut_body: CutBodySink | None = None,
) -> list:
    headers = {"Accept": "application/json"}
    with HttpFetcher.from_settings(settings, SOURCE, headers=headers, keep_cut_body=keep_cut_body) as fetcher:
        client = CoinMetricsClient(fetcher, endpoints.coinmetrics, as_of=endpoints.as_of, page_size=page_size)
        return client.fetch(assets, metrics, start=start, end=end)


def ingest(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
) -> list[IngestReport]:
    """The uniform source entry point (see resources.sources.registry)."""
    assets, metrics = universe_request(get_universe(settings.universe_file))
    return [
        ingest_coinmetrics(
            storage, settings, run_id=run_id, start=start, end=end, files=files, assets=assets, metrics=metrics
        )
    ]
