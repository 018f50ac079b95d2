"""COT figures: parsing CFTC's real annual files, loading all of them, and a simulated ingest of the default range."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime

from resources.lake.bronze import RawPayload
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.sources.cot.ingest import ingest_cot
from resources.sources.cot.parser import parse_cot_payload
from tests.bench.common import REAL_DATA_DIR, Figure, resource, scratch, since

REPEATS = 5


def _parse_seconds(name: str) -> float:
    path = REAL_DATA_DIR / "cot" / name
    payload = RawPayload("cot", "bench", str(path), path.read_bytes(), datetime.now(UTC))
    parse_cot_payload(payload)  # warm imports and caches
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        parse_cot_payload(payload)
        timings.append(since(started))
    return statistics.median(timings)


def _settings(mode: str = "simulated") -> tuple[Settings, LakeStorage]:
    settings = Settings(lake_uri=str(scratch() / "lake"), source_mode=mode)
    return settings, LakeStorage.from_settings(settings)


def run() -> list[Figure]:
    figures: list[Figure] = []
    if (REAL_DATA_DIR / "cot").is_dir():
        tff = _parse_seconds("tff_futures_only/FinFut_2024.txt")
        legacy = _parse_seconds("legacy_futures_only/deacot2004_annual.txt")
        figures.append(
            Figure("COT parse one real TFF annual file (FinFut 2024, 3,163 rows)", tff, "s", "target <= 0.5 s")
        )
        figures.append(Figure("COT parse the largest real file (Legacy 2004, 4 MB)", legacy, "s"))
        settings, storage = _settings("files")
        started = time.perf_counter()
        outcomes = ingest_cot(storage, settings, run_id="bench", start=None, end=None, files=[REAL_DATA_DIR / "cot"])
        seconds = since(started)
        rows = sum(o.added for o in outcomes)
        figures.append(Figure(f"COT load all 9 real files, bronze+silver ({rows:,} rows)", seconds, "s"))

    settings, storage = _settings()
    window = {"start": date(2016, 1, 1), "end": date(2025, 12, 31)}
    started = time.perf_counter()
    outcomes = ingest_cot(storage, settings, run_id="bench-1", **window)
    first = since(started)
    rows = sum(o.added for o in outcomes)
    started = time.perf_counter()
    ingest_cot(storage, settings, run_id="bench-2", **window)
    again = since(started)
    figures += [
        Figure(f"COT simulated ingest 2016-2025, first run ({rows:,} rows)", first, "s"),
        Figure("COT simulated ingest 2016-2025, re-run (no change)", again, "s"),
        Figure("COT benchmark process peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB"),
    ]
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
