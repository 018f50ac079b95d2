"""Land Cboe indices: get the files for the current mode, keep them in bronze, merge them into silver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from resources.http import HttpFetcher
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import RowPolicy
from resources.settings import Settings
from resources.sources.base import IngestReport, land_payloads
from resources.sources.cboe.client import CboeClient, payloads_from_files
from resources.sources.cboe.parser import parse_cboe_csv
from resources.sources.cboe.spec import INDEX_CLOSES, SOURCE, SYMBOLS
from resources.sources.cut_bodies import cut_body_keeper
from resources.sources.endpoints import open_endpoints
from resources.universe import get_universe


def ingest_cboe(
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    end: date | None,
    start: date | None = None,
    files: Sequence[Path] | None = None,
    symbols: Sequence[str] = SYMBOLS,
) -> IngestReport:
    """Ingest Cboe values dated in [start, end] as known at the end of `end` (None: no bound)."""
    if files or settings.source_mode == "files":
        roots = list(files or [])
        if not roots:
            if settings.files_dir is None:
                raise ValueError("files mode needs NEXUS_FILES_DIR or --files")
            roots = [settings.files_dir / SOURCE if (settings.files_dir / SOURCE).is_dir() else settings.files_dir]
        payloads = payloads_from_files(roots)
        if not payloads:
            raise FileNotFoundError(f"no Cboe *_History.csv files under {', '.join(map(str, roots))}")
    else:
        as_of = end or settings.end_date
        with (
            open_endpoints(settings, as_of) as endpoints,
            HttpFetcher.from_settings(settings, SOURCE, keep_cut_body=cut_body_keeper(storage, run_id)) as fetcher,
        ):
            payloads = CboeClient(fetcher, endpoints.cboe, as_of=endpoints.as_of).fetch(symbols)
    report = IngestReport(source=SOURCE, table=INDEX_CLOSES.name, run_id=run_id)
    return land_payloads(
        storage,
        payloads,
        parse=parse_cboe_csv,
        spec=INDEX_CLOSES,
        run_id=run_id,
        since=start,
        until=end,
        report=report,
        policy=RowPolicy(max_bad_row_share=settings.max_bad_row_share),
    )


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
    symbols = tuple(get_universe(settings.universe_file).features.cboe) or SYMBOLS
    return [ingest_cboe(storage, settings, run_id=run_id, start=start, end=end, files=files, symbols=symbols)]
