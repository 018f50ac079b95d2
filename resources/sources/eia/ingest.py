"""Land EIA data: get the payloads for the current mode, keep them in bronze, merge them into the silver tables.

Two cadences share the client and the parser: weekly reports (`eia/weekly_series`, WPSR and WNGSR) and daily
prices (`eia/daily_prices`). `ingest` (the registry's entry point) does both with one publisher session; the
Dagster assets call `ingest_weekly_reports` and `ingest_daily_prices` on their own partitions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from pydantic import SecretStr

from resources.errors import ConfigError, SourceError
from resources.http import CutBodySink, HttpFetcher
from resources.lake.bronze import RawPayload
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import RowPolicy
from resources.settings import Settings
from resources.sources.base import IngestReport, land_collecting_errors, raise_collected
from resources.sources.cut_bodies import cut_body_keeper
from resources.sources.eia.client import EiaClient, file_cadence, payloads_from_files
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series
from resources.sources.eia.spec import ROUTE_BY_PATH, SERIES, SOURCE, TABLE_BY_CADENCE, Cadence, Route
from resources.sources.endpoints import open_endpoints
from resources.sources.fetch_window import FetchPlan, live_fetch_plan, record_full_refresh
from resources.universe import Universe, get_universe

log = logging.getLogger(__name__)
# Sent to the simulated publisher, which wants a key like EIA does; a real key never leaves for a local server.
SIMULATED_API_KEY = SecretStr("simulated-eia-api-key")
CADENCES: tuple[Cadence, ...] = ("weekly", "daily")
_PARSERS = {"weekly": parse_weekly_series, "daily": parse_daily_prices}


def wanted_routes(cadence: Cadence, universe: Universe) -> dict[Route, list[str]]:
    """The universe's EIA series of one cadence, grouped by the API route that serves them."""
    features = universe.features.eia
    by_route: dict[Route, list[str]] = {}
    for series_id in universe.series_for("eia"):
        known = SERIES.get(series_id)
        if known is not None:
            route = ROUTE_BY_PATH[known.route]
        elif series_id in features.weekly_petroleum:
            route = ROUTE_BY_PATH["petroleum/sum/sndw"]
        elif series_id in features.weekly_gas_storage:
            route = ROUTE_BY_PATH["natural-gas/stor/wkly"]
        elif cadence == "daily":
            raise ConfigError(
                f"EIA series {series_id} has no known API v2 route: add it to SERIES in resources/sources/eia/spec.py"
            )
        else:
            continue
        if route.frequency == cadence:
            by_route.setdefault(route, []).append(series_id)
    return by_route


def _file_roots(settings: Settings, files: Sequence[Path] | None) -> list[Path]:
    roots = list(files or [])
    if not roots:
        if settings.files_dir is None:
            raise ValueError("files mode needs NEXUS_FILES_DIR or --files")
        nested = settings.files_dir / SOURCE
        roots = [nested if nested.is_dir() else settings.files_dir]
    return roots


def collect_payloads(
    settings: Settings,
    cadences: Sequence[Cadence],
    *,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
    plans: Mapping[Cadence, FetchPlan] | None = None,
    keep_cut_body: CutBodySink | None = None,
) -> dict[Cadence, list[RawPayload]]:
    """The payloads of each cadence: download CSVs in files mode, else every API page (one publisher session).

    A file whose header shows no cadence is given to the weekly table, whose parser then refuses it. `plans`
    (incremental live fetch) gives each route the earliest start its series need; without one, `start`.
    """
    out: dict[Cadence, list[RawPayload]] = {c: [] for c in cadences}
    if files or settings.source_mode == "files":
        roots = _file_roots(settings, files)
        found = payloads_from_files(roots)
        if not found:
            raise FileNotFoundError(f"no EIA download CSV files under {', '.join(map(str, roots))}")
        for payload in found:
            cadence = file_cadence(payload) or "weekly"
            if cadence in out:
                out[cadence].append(payload)
        return out
    routes = {c: wanted_routes(c, get_universe(settings.universe_file)) for c in cadences}
    as_of = end or settings.end_date
    with (
        open_endpoints(settings, as_of) as endpoints,
        HttpFetcher.from_settings(settings, SOURCE, keep_cut_body=keep_cut_body) as fetcher,
    ):
        if endpoints.mode == "simulated":
            key = SIMULATED_API_KEY
        elif settings.eia_api_key is None:
            raise ConfigError("live EIA ingest needs an API key: set EIA_API_KEY")
        else:
            key = settings.eia_api_key
        client = EiaClient(fetcher, endpoints.eia, key, as_of=endpoints.as_of)
        for cadence in cadences:
            for route, series in routes[cadence].items():
                first = plans[cadence].start_for(series) if plans and cadence in plans else start
                out[cadence].extend(client.fetch(route, series, first, end))
    return out


def ingest_cadences(
    storage: LakeStorage,
    settings: Settings,
    cadences: Sequence[Cadence],
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
) -> list[IngestReport]:
    """Ingest EIA values dated in [start, end] as known at the end of `end`, one report per table.

    Every table is landed before the first payload error is raised (several: `IngestFailedError`).
    """
    as_of = end or settings.end_date
    plans: dict[Cadence, FetchPlan] = {}
    if not (files or settings.source_mode == "files"):
        for cadence in cadences:
            plans[cadence] = live_fetch_plan(
                storage,
                settings,
                source=f"{SOURCE}_{cadence}",
                mode=settings.source_mode,
                spec=TABLE_BY_CADENCE[cadence],
                key_column="series_id",
                keys=[
                    s
                    for series in wanted_routes(cadence, get_universe(settings.universe_file)).values()
                    for s in series
                ],
                requested_start=start,
                as_of=as_of,
            )
            log.info("%s %s: %s", SOURCE, cadence, plans[cadence].reason)
    keep = cut_body_keeper(storage, run_id)
    payloads = collect_payloads(settings, cadences, start=start, end=end, files=files, plans=plans, keep_cut_body=keep)
    reports = [IngestReport(source=SOURCE, table=TABLE_BY_CADENCE[c].name, run_id=run_id) for c in cadences]
    errors: list[SourceError] = []
    for cadence, report in zip(cadences, reports, strict=True):
        spec, parse = TABLE_BY_CADENCE[cadence], _PARSERS[cadence]
        errors += land_collecting_errors(
            storage,
            payloads[cadence],
            parse=parse,
            spec=spec,
            run_id=run_id,
            since=start,
            until=end,
            report=report,
            policy=RowPolicy(max_bad_row_share=settings.max_bad_row_share),
        )
    if settings.source_mode == "live" and not errors:
        for cadence, plan in plans.items():
            if plan.full:
                record_full_refresh(storage, f"{SOURCE}_{cadence}", as_of)
    raise_collected(errors, reports[0])
    return reports


def ingest_weekly_reports(
    storage: LakeStorage, settings: Settings, *, run_id: str, start: date | None, end: date | None
) -> list[IngestReport]:
    """The weekly Dagster asset: WPSR and WNGSR series."""
    return ingest_cadences(storage, settings, ("weekly",), run_id=run_id, start=start, end=end)


def ingest_daily_prices(
    storage: LakeStorage, settings: Settings, *, run_id: str, start: date | None, end: date | None
) -> list[IngestReport]:
    """The daily Dagster asset: spot and futures prices."""
    return ingest_cadences(storage, settings, ("daily",), run_id=run_id, start=start, end=end)


def ingest(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
) -> list[IngestReport]:
    """The uniform source entry point (see resources.sources.registry): both tables."""
    return ingest_cadences(storage, settings, CADENCES, run_id=run_id, start=start, end=end, files=files)
