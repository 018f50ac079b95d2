"""All sources together: every real publisher file loaded, and one simulated day's incremental ingest."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.registry import available_sources, ingest_source
from tests.bench.common import REAL_DATA_DIR, Figure, scratch

REAL_FOLDERS = {"cot": "cot", "fred": "fred", "eia": "eia", "cboe": "cboe", "coinmetrics": "coinmetrics"}


def _storage(root_name: str) -> LakeStorage:
    root = scratch() / root_name
    os.environ["NEXUS_LAKE_URI"] = str(root)
    return LakeStorage.from_settings(get_settings())


def run() -> list[Figure]:
    figures: list[Figure] = []
    sources = available_sources()
    if REAL_DATA_DIR.is_dir():
        storage = _storage("real")
        started = time.perf_counter()
        for name in sources:
            folder = REAL_DATA_DIR / REAL_FOLDERS[name]
            if folder.is_dir():
                ingest_source(name, storage, get_settings(), run_id="bench", start=None, end=None, files=[folder])
        figures.append(
            Figure(f"load every real file ({', '.join(sources)})", time.perf_counter() - started, "s", "target <= 30 s")
        )
    else:
        print(f"(real files not found at {REAL_DATA_DIR}: skipped the real-file figure)")

    storage = _storage("simulated")
    settings = get_settings()
    end = settings.end_date
    previous = end - timedelta(days=1)
    while previous.weekday() >= 5:
        previous -= timedelta(days=1)
    for name in sources:  # history up to the previous business day (and warms the simulated world)
        ingest_source(name, storage, settings, run_id="bench-base", start=settings.start_date, end=previous, files=None)
    started = time.perf_counter()
    for name in sources:
        ingest_source(name, storage, settings, run_id="bench-day", start=settings.start_date, end=end, files=None)
    figures.append(
        Figure(
            f"one simulated day's incremental ingest ({len(sources)} sources, as of {end})",
            time.perf_counter() - started,
            "s",
            "target <= 10 s",
        )
    )
    return figures


if __name__ == "__main__":  # pragma: no cover
    for f in run():
        print(f.line())
