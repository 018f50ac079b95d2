"""Land FRED: fetch (or read) the series for the current mode, keep every payload in bronze, merge into silver.

Two silver tables: `fred/observations` (one row per series, observation date and vintage) and `fred/series`
(metadata, versioned). The shared merge counts a changed value of an existing key as revised; FRED revisions
arrive as new keys instead (a new realtime_start), so this module counts them itself: a row is revised when an
earlier vintage of the same observation exists, whether it was landed before or in the same ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import SecretStr

from resources.errors import ConfigError, SourceError, SourceUnavailableError
from resources.http import CutBodySink
from resources.lake.bronze import RawPayload
from resources.lake.delta import ensure_table, read_table
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import RowPolicy
from resources.settings import Settings
from resources.sources.base import IngestReport, Parser, land_collecting_errors, raise_collected
from resources.sources.cut_bodies import cut_body_keeper
from resources.sources.endpoints import open_endpoints
from resources.sources.fetch_window import FetchPlan, live_fetch_plan, record_full_refresh
from resources.sources.fred.api_parser import parse_observations, parse_series
from resources.sources.fred.client import FredClient, FredFetcher, payloads_from_files
from resources.sources.fred.parser import parse_fred_csv
from resources.sources.fred.spec import DEFAULT_SERIES, MAX_LIMIT, OBSERVATIONS, SERIES, SIMULATED_API_KEY, SOURCE
from resources.universe import get_universe

log = logging.getLogger(__name__)
_KEY = ["series_id", "observation_date", "realtime_start"]


def api_key_for(settings: Settings) -> SecretStr:
    """The key to send: the fixed dummy key for the simulated publisher, FRED_API_KEY otherwise."""
    if settings.source_mode == "simulated":
        return SecretStr(SIMULATED_API_KEY)
    if settings.fred_api_key is None:
        raise ConfigError(
            "FRED live mode needs an API key: set FRED_API_KEY (https://fred.stlouisfed.org/docs/api/api_key.html)"
        )
    return settings.fred_api_key


def fetch_fred(
    settings: Settings,
    series: Sequence[str],
    *,
    start: date | None,
    end: date | None,
    page_size: int = MAX_LIMIT,
    starts: Mapping[str, date | None] | None = None,
    keep_cut_body: CutBodySink | None = None,
) -> tuple[list[RawPayload], list[RawPayload], list[SourceError]]:
    """(observation pages, series answers, per-series fetch errors) from the live or simulated API.

    `starts` gives a series its own first observation date (an incremental live fetch); others use `start`.
    """
    observations: list[RawPayload] = []
    metadata: list[RawPayload] = []
    errors: list[SourceError] = []
    key = api_key_for(settings)
    with (
        open_endpoints(settings, end or settings.end_date) as endpoints,
        FredFetcher.from_settings(settings, SOURCE, keep_cut_body=keep_cut_body) as fetcher,
    ):
        client = FredClient(fetcher, endpoints.fred, key, as_of=endpoints.as_of, page_size=page_size)
        for series_id in series:
            try:
                metadata.append(client.series_info(series_id))
                first = starts.get(series_id, start) if starts is not None else start
                observations.extend(client.observations(series_id, start=first, end=end))
            except SourceUnavailableError as exc:
                log.error("%s", exc)
                errors.append(exc)
    return observations, metadata, errors


def _vintage_keys(storage: LakeStorage) -> pa.Table:
    return read_table(storage, OBSERVATIONS, columns=[*_KEY, "version", "source_sha256"])


def count_new_vintages(storage: LakeStorage, report: IngestReport, before: pa.Table) -> int:
    """Move rows that are new vintages of an observation from `added` to `revised`, per payload; returns them."""
    after = _vintage_keys(storage)
    if after.num_rows == 0:
        return 0
    firsts = after.group_by(["series_id", "observation_date"]).aggregate([("realtime_start", "min")])
    rows = after.join(firsts, keys=["series_id", "observation_date"])
    later = pc.and_(pc.equal(rows["version"], 1), pc.greater(rows["realtime_start"], rows["realtime_start_min"]))
    rows = rows.filter(later).select([*_KEY, "source_sha256"])
    known = before.select(_KEY).append_column("_known", pa.array([True] * before.num_rows, pa.bool_()))
    rows = rows.join(known, keys=_KEY, join_type="left outer")
    new = rows.filter(pc.is_null(rows["_known"]))
    counts = new.group_by("source_sha256").aggregate([([], "count_all")]).to_pylist()
    by_payload = {c["source_sha256"]: c["count_all"] for c in counts}
    for outcome in report.payloads:
        moved = min(int(by_payload.pop(outcome.sha256, 0)), outcome.added)
        outcome.added -= moved
        outcome.revised += moved
    return new.num_rows


def ingest_fred(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None = None,
    series: Sequence[str] = DEFAULT_SERIES,
    page_size: int = MAX_LIMIT,
) -> list[IngestReport]:
    """Ingest FRED observations dated [start, end] with every vintage known at the end of `end`, and metadata.

    Returns one report per table written (CSV downloads carry no metadata). Everything good is landed before the
    first error (fetch or data) is raised.
    """
    observations_report = IngestReport(source=SOURCE, table=OBSERVATIONS.name, run_id=run_id)
    series_report = IngestReport(source=SOURCE, table=SERIES.name, run_id=run_id)
    plan: FetchPlan | None = None
    if files or settings.source_mode == "files":
        roots = list(files or [])
        if not roots:
            if settings.files_dir is None:
                raise ValueError("files mode needs NEXUS_FILES_DIR or --files")
            roots = [settings.files_dir / SOURCE if (settings.files_dir / SOURCE).is_dir() else settings.files_dir]
        pages, metadata, errors = payloads_from_files(roots), [], []
        if not pages:
            raise FileNotFoundError(f"no FRED *.csv downloads under {', '.join(map(str, roots))}")
        parse: Parser = parse_fred_csv
    else:
        as_of = end or settings.end_date
        plan = live_fetch_plan(
            storage,
            settings,
            source=SOURCE,
            mode=settings.source_mode,
            spec=OBSERVATIONS,
            key_column="series_id",
            keys=series,
            requested_start=start,
            as_of=as_of,
        )
        log.info("%s: %s", SOURCE, plan.reason)
        pages, metadata, errors = fetch_fred(
            settings,
            series,
            start=start,
            end=end,
            page_size=page_size,
            starts=plan.starts,
            keep_cut_body=cut_body_keeper(storage, run_id),
        )
        parse = parse_observations

    for spec in (OBSERVATIONS, SERIES):  # both exist even when a mode fills one, so dbt staging always builds
        ensure_table(storage, spec)
    before = _vintage_keys(storage)
    errors += land_collecting_errors(
        storage,
        pages,
        parse=parse,
        spec=OBSERVATIONS,
        report=observations_report,
        run_id=run_id,
        since=start,
        until=end,
        policy=RowPolicy(max_bad_row_share=settings.max_bad_row_share),
    )
    count_new_vintages(storage, observations_report, before)
    if plan is not None and plan.full and settings.source_mode == "live" and not errors:
        record_full_refresh(storage, SOURCE, as_of)
    if metadata:
        errors += land_collecting_errors(
            storage, metadata, parse=parse_series, spec=SERIES, report=series_report, run_id=run_id
        )
    raise_collected(errors, observations_report)
    return [observations_report, series_report] if metadata else [observations_report]


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
    series = tuple(get_universe(settings.universe_file).series_for("fred")) or DEFAULT_SERIES
    return ingest_fred(storage, settings, run_id=run_id, start=start, end=end, files=files, series=series)
