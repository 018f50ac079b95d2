"""Coin Metrics figures: parsing and loading the real btc.csv, and simulated ingest over the default range."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from resources.lake.bronze import RawPayload
from resources.settings import Settings
from resources.sources.coinmetrics.parser import parse_community_csv
from tests.bench.common import BIN, REAL_DATA_DIR, Figure, isolated_env, run_measured, scratch


def _parse_seconds(repeats: int = 3) -> tuple[float, int]:
    path = REAL_DATA_DIR / "coinmetrics" / "btc.csv"
    payload = RawPayload("coinmetrics", "btc", str(path), path.read_bytes(), datetime.now(UTC))
    times, rows = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        rows = parse_community_csv(payload).table.num_rows
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def run() -> list[Figure]:
    figures: list[Figure] = []
    defaults = Settings()
    nexus = str(BIN / "nexus")
    real = REAL_DATA_DIR / "coinmetrics" / "btc.csv"
    if real.exists():
        seconds, cells = _parse_seconds()
        figures.append(Figure("coinmetrics: parse real btc.csv (3,955 days x 39 metrics)", seconds, "s"))
        figures.append(Figure("coinmetrics: silver rows from real btc.csv (non-empty cells)", cells, "rows"))
        env = isolated_env(scratch())
        wall, peak = run_measured([nexus, "ingest", "coinmetrics", "--files", str(real)], env)
        figures.append(
            Figure("coinmetrics: nexus ingest --files btc.csv, empty lake (wall)", wall, "s", "target <= 15 s")
        )
        figures.append(Figure("coinmetrics: nexus ingest --files btc.csv (peak RSS)", peak, "MB"))
    window = ["--start", defaults.start_date.isoformat(), "--end", defaults.end_date.isoformat()]
    env = isolated_env(scratch())
    first, peak = run_measured([nexus, "ingest", "coinmetrics", *window], env)
    again, _ = run_measured([nexus, "ingest", "coinmetrics", *window], env)
    figures.append(Figure("coinmetrics: simulated ingest, default range, first (wall)", first, "s", "target <= 15 s"))
    figures.append(Figure("coinmetrics: simulated ingest, default range (peak RSS)", peak, "MB"))
    figures.append(Figure("coinmetrics: simulated ingest, default range, re-run (wall)", again, "s", "target <= 10 s"))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
