"""FRED figures: parsing and loading the real CSV downloads, and a simulated ingest of every vintage of the
universe's series over the default range (first run, then the idempotent re-run)."""

from __future__ import annotations

import resource
import time
from datetime import UTC, datetime

from resources.lake.bronze import RawPayload
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.simulated.fred import SERIES, vintages
from resources.simulated.world import world_for
from resources.sources.fred.ingest import ingest_fred
from resources.sources.fred.parser import parse_fred_csv, series_from_name
from resources.sources.fred.spec import OBSERVATIONS
from resources.universe import get_universe
from tests.bench.common import REAL_DATA_DIR, Figure, scratch, since


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _real_files() -> list[Figure]:
    folder = REAL_DATA_DIR / "fred"
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.csv"))
    payloads = [RawPayload("fred", series_from_name(p.name), str(p), p.read_bytes(), datetime.now(UTC)) for p in paths]
    started = time.perf_counter()
    rows = sum(parse_fred_csv(p).table.num_rows for p in payloads)
    parse_s = since(started)
    settings = Settings(lake_uri=str(scratch() / "lake"))
    storage = LakeStorage.from_settings(settings)
    started = time.perf_counter()
    ingest_fred(storage, settings, run_id="bench-real", start=None, end=None, files=[folder])
    load_s = since(started)
    megabytes = sum(len(p.data) for p in payloads) / 1e6
    return [
        Figure(f"parse the real FRED downloads ({len(paths)} files, {megabytes:.1f} MB)", parse_s, "s"),
        Figure("  parse throughput", rows / parse_s / 1000, "krow/s"),
        Figure(f"load the real FRED downloads into a fresh lake ({rows:,} rows)", load_s, "s"),
    ]


def _simulated() -> list[Figure]:
    settings = Settings(lake_uri=str(scratch() / "lake"))
    storage = LakeStorage.from_settings(settings)
    series = tuple(get_universe(settings.universe_file).series_for("fred"))
    started = time.perf_counter()
    world_for(settings.seed)
    for series_id in SERIES:
        vintages(settings.seed, series_id)
    warm = since(started)
    figures = [Figure("simulated FRED publisher warm-up (world and vintages)", warm, "s")]
    for label in ("first run", "re-run"):
        started = time.perf_counter()
        observations, _ = ingest_fred(
            storage, settings, run_id=f"bench-{label}", start=settings.start_date, end=settings.end_date, series=series
        )
        figures.append(
            Figure(
                f"simulated ingest, {len(series)} series {settings.start_date}..{settings.end_date}, {label}",
                since(started),
                "s",
                f"added {observations.added:,}, revised {observations.revised:,}",
            )
        )
    rows = read_table(storage, OBSERVATIONS, columns=["series_id"]).num_rows
    figures.append(Figure("  silver fred/observations rows (all vintages)", rows, "rows"))
    figures.append(Figure("peak RSS of the FRED benchmark process", _peak_mb(), "MB"))
    return figures


def run() -> list[Figure]:
    return [*_real_files(), *_simulated()]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
