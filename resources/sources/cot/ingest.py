"""Land COT reports: fetch pages (live or simulated) or read annual files, keep them in bronze, merge into silver.

Each report (Legacy, TFF, Disaggregated) lands into its own silver table through the shared `land_payloads`:
bronze byte for byte first, then whole-payload-or-nothing parsing with bad rows in quarantine. One report's
failure does not stop the others; the errors are raised together once everything landable has landed.

Which markets the API is asked for: TFF and Disaggregated get the universe's markets filed under that report;
Legacy gets every universe market (CFTC publishes the Legacy report for all of them, and the universe only names
the report whose categories fit best). Files carry every market CFTC reported, and silver keeps them all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from functools import partial
from pathlib import Path

from resources.errors import SourceError, SourceUnavailableError
from resources.http import HttpFetcher
from resources.lake.bronze import RawPayload
from resources.lake.delta import ensure_table
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import RowPolicy
from resources.settings import Settings
from resources.sources.base import IngestReport, land_collecting_errors, raise_collected
from resources.sources.cot.client import CotApiClient, app_token_headers, payloads_from_files
from resources.sources.cot.layouts import REPORTS, ReportKind, layout_for_dataset
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.cot.spec import DEFAULT_PAGE_SIZE, SOURCE, TABLES
from resources.sources.cut_bodies import cut_body_keeper
from resources.sources.endpoints import open_endpoints
from resources.sources.fetch_window import live_fetch_plan, record_full_refresh
from resources.universe import Universe, get_universe

log = logging.getLogger(__name__)


def markets_for(report: ReportKind, universe: Universe) -> list[str]:
    """Universe market codes to request for one report (see the module docstring for Legacy)."""
    markets = universe.cot_markets(report) if report != "legacy" else universe.cot_markets()
    return list(dict.fromkeys(m.market_code for m in markets))


def _file_payloads(settings: Settings, files: Sequence[Path] | None) -> list[RawPayload]:
    roots = list(files or [])
    if not roots:
        if settings.files_dir is None:
            raise ValueError("files mode needs NEXUS_FILES_DIR or --files")
        roots = [settings.files_dir / SOURCE if (settings.files_dir / SOURCE).is_dir() else settings.files_dir]
    payloads = payloads_from_files(roots)
    if not payloads:
        raise FileNotFoundError(f"no COT report files (*.txt, *.zip) under {', '.join(map(str, roots))}")
    return payloads


def _land(
    storage: LakeStorage,
    report: ReportKind,
    payloads: list[RawPayload],
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    outcome: IngestReport,
    policy: RowPolicy | None = None,
) -> list[SourceError]:
    """Land one report's payloads; returns the data errors instead of raising them."""
    if not payloads:
        return []
    parse = partial(parse_cot_payload, expect=report)
    return land_collecting_errors(
        storage,
        payloads,
        parse=parse,
        spec=TABLES[report],
        run_id=run_id,
        since=start,
        until=end,
        report=outcome,
        policy=policy,
    )


def ingest_cot(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
    reports: Sequence[ReportKind] = REPORTS,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[IngestReport]:
    """Ingest COT report dates in [start, end] as published at the end of `end` (None: no bound)."""
    outcomes = {r: IngestReport(source=SOURCE, table=TABLES[r].name, run_id=run_id) for r in reports}
    for report in reports:  # every table exists, even empty, so dbt can always read it
        ensure_table(storage, TABLES[report])
    errors: list[SourceError] = []
    unavailable: list[SourceUnavailableError] = []
    policy = RowPolicy(max_bad_row_share=settings.max_bad_row_share)

    if files or settings.source_mode == "files":
        payloads = _file_payloads(settings, files)
        for report in reports:
            mine = [p for p in payloads if (layout := layout_for_dataset(p.dataset)) and layout.report == report]
            errors += _land(
                storage, report, mine, run_id=run_id, start=start, end=end, outcome=outcomes[report], policy=policy
            )
    else:
        futures_only = not settings.cot_combined
        with (
            open_endpoints(settings, end or settings.end_date) as endpoints,
            HttpFetcher.from_settings(
                settings, SOURCE, headers=app_token_headers(settings), keep_cut_body=cut_body_keeper(storage, run_id)
            ) as fetcher,
        ):
            client = CotApiClient(fetcher, endpoints.cftc, as_of=endpoints.as_of, page_size=page_size)
            as_of = end or settings.end_date
            for report in reports:
                markets = markets_for(report, get_universe(settings.universe_file))
                if not markets:
                    continue
                plan = live_fetch_plan(
                    storage,
                    settings,
                    source=f"{SOURCE}_{report}",
                    mode=endpoints.mode,
                    spec=TABLES[report],
                    key_column="cftc_contract_market_code",
                    keys=markets,
                    requested_start=start,
                    as_of=as_of,
                )
                log.info("%s %s: %s", SOURCE, report, plan.reason)
                try:
                    pages = client.fetch(
                        report, markets, futures_only=futures_only, start=plan.start_for(markets), end=end
                    )
                except SourceUnavailableError as exc:  # nothing of this report lands: no partial history
                    log.error("%s", exc)
                    unavailable.append(exc)
                    continue
                landed = _land(
                    storage, report, pages, run_id=run_id, start=start, end=end, outcome=outcomes[report], policy=policy
                )
                if plan.full and endpoints.mode == "live" and not landed:
                    record_full_refresh(storage, f"{SOURCE}_{report}", as_of)
                errors += landed

    if unavailable:
        raise unavailable[0]
    raise_collected(errors, next((o for o in outcomes.values() if o.failed), next(iter(outcomes.values()))))
    return list(outcomes.values())


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
    return ingest_cot(storage, settings, run_id=run_id, start=start, end=end, files=files)
