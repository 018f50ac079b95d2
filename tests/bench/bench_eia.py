"""EIA figures: loading the real download CSVs, and the simulated API ingest of the default range (first, again)."""

from __future__ import annotations

import os
import resource
import time
from datetime import UTC, datetime

from resources.lake.bronze import RawPayload
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.simulated.eia import published
from resources.sources.eia.client import file_cadence, payloads_from_files
from resources.sources.eia.ingest import ingest
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series
from tests.bench.common import REAL_DATA_DIR, Figure, scratch, since


def _storage(name: str) -> LakeStorage:
    os.environ["NEXUS_LAKE_URI"] = str(scratch() / name)
    return LakeStorage.from_settings(get_settings())


def _parse_all(payloads: list[RawPayload]) -> int:
    rows = 0
    for payload in payloads:
        parse = parse_weekly_series if file_cadence(payload) == "weekly" else parse_daily_prices
        rows += parse(payload).table.num_rows
    return rows


def run() -> list[Figure]:
    figures: list[Figure] = []
    folder = REAL_DATA_DIR / "eia"
    if folder.is_dir():
        payloads = payloads_from_files([folder])
        started = time.perf_counter()
        rows = _parse_all(payloads)
        figures.append(Figure(f"eia: parse the {len(payloads)} real files ({rows} rows)", since(started), "s"))
        storage = _storage("eia-real")
        started = time.perf_counter()
        ingest(storage, get_settings(), run_id="bench-real", start=None, end=None, files=[folder])
        figures.append(Figure("eia: load the real files into an empty lake", since(started), "s"))
    else:
        print(f"(real EIA files not found at {folder}: skipped the real-file figures)")

    storage = _storage("eia-simulated")
    settings = get_settings()
    started = time.perf_counter()
    published(settings.seed, "RWTC", datetime(2000, 1, 10, tzinfo=UTC))
    figures.append(Figure("eia: build the simulated world (once per process)", since(started), "s"))
    window = f"{settings.start_date.year}-{settings.end_date.year}"
    started = time.perf_counter()
    reports = ingest(storage, settings, run_id="bench-1", start=settings.start_date, end=settings.end_date)
    first = since(started)
    rows = sum(r.added for r in reports)
    figures.append(Figure(f"eia: simulated ingest {window}, first ({rows} rows)", first, "s", "target <= 10 s"))
    figures.append(Figure("eia: simulated ingest, rows per second", rows / first, "rows/s"))
    started = time.perf_counter()
    ingest(storage, settings, run_id="bench-2", start=settings.start_date, end=settings.end_date)
    figures.append(Figure(f"eia: simulated ingest {window}, again (no change)", since(started), "s"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(Figure("eia: peak RSS of the benchmark process", peak, "MB"))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
