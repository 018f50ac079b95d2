"""Backfill throughput of both engines on scaled simulated lakes (COT, FRED, Coin Metrics): rows/s and peak memory.

1x is the default universe over the default 10 years: FRED's simulated series, COT's simulated markets in each
report, Coin Metrics' two assets. 10x and 100x multiply the series, markets or assets (replicas from the simulated
publisher's scale parameter). Each lake gets two publication states, so the backfill merges real revisions.
`NEXUS_BENCH_BACKFILL_SCALES` (default 1,10,100) and `NEXUS_BENCH_BACKFILL_SOURCES` (default fred,cot,coinmetrics)
choose what runs. Each backfill runs in its own process, so peak memory is that engine's (Spark: the driver JVM
and the Python process, not the Python workers).

When a cluster pays off: each engine's time is modelled as t(rows) = fixed + rows / rate, fitted through its two
largest measured scales (fixed: start-up, planning, the one commit; rate: the marginal rows per second). A
cluster of n such 2-core machines keeps Spark's fixed cost and multiplies its marginal rate by n (the parse and
merge are per payload and per key, so they spread), so it beats the local engine past
rows* = (fixed_spark - fixed_local) / (1/rate_local - 1/(n * rate_spark)), printed for n = 1 (this machine) and
n = 10. The local engine also stops at memory: its peak grows with rows, so the largest universe it can hold
on this machine (15 GiB free) is printed from the fitted MB per row.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.bench.common import BIN, Figure, isolated_env, run_measured, scratch

AS_OF = (date(2025, 6, 30), date(2025, 12, 31))
YEARS = 10
FREE_MB = 15 * 1024
CLUSTER = 10


def _write(source: str, folder: Path, as_of: date, scale: int) -> None:
    if source == "fred":
        from resources.simulated.fred import write_scaled_files

        write_scaled_files(folder, 7, as_of, series=10 * scale, years=YEARS)
    elif source == "cot":
        from resources.simulated.cot import codes_for, write_scaled_files

        for report in ("legacy", "tff", "disaggregated"):
            markets = len(codes_for(report)) * scale
            write_scaled_files(folder, 7, as_of, markets=markets, years=YEARS, reports=(report,))
    else:
        from resources.simulated.coinmetrics import write_scaled_files

        write_scaled_files(folder, 7, as_of, assets=2 * scale, years=YEARS)


def _lake(source: str, root: Path, scale: int, env: dict[str, str]) -> None:
    for k, as_of in enumerate(AS_OF):
        folder = root / f"files{k}"
        _write(source, folder, as_of, scale)
        run_measured([str(BIN / "nexus"), "ingest", source, "--files", str(folder)], env)


def _backfill(source: str, engine: str, env: dict[str, str]) -> tuple[float, float, int]:
    script = (
        "import json,os;from resources.lake.storage import LakeStorage;"
        "from resources.spark.backfill import run_backfill;"
        f"r=run_backfill(LakeStorage(root_uri=os.environ['NEXUS_LAKE_URI']),'{source}',engine='{engine}',"
        "run_id='bench');"
        "open(os.environ['BENCH_OUT'],'w').write(json.dumps({'rows':r.rows,'seconds':r.seconds}))"
    )
    seconds, peak = run_measured([sys.executable, "-c", script], env)
    rows = json.loads(Path(env["BENCH_OUT"]).read_text())["rows"]
    return seconds, peak, rows


@dataclass
class Fit:
    fixed: float  # seconds
    per_row: float  # seconds per row
    mb_per_row: float


def _fit(points: list[tuple[int, float, float]]) -> Fit | None:
    """Line through the two largest measured scales: (rows, seconds, peak MB)."""
    if len(points) < 2:
        return None
    (r0, s0, m0), (r1, s1, m1) = points[-2], points[-1]
    per_row = max(1e-9, (s1 - s0) / max(1, r1 - r0))
    return Fit(fixed=max(0.0, s1 - per_row * r1), per_row=per_row, mb_per_row=max(0.0, (m1 - m0) / max(1, r1 - r0)))


def _break_even(local: Fit, spark: Fit, nodes: int) -> float | None:
    gain = local.per_row - spark.per_row / nodes
    return (spark.fixed - local.fixed) / gain if gain > 0 else None


def run() -> list[Figure]:
    scales = [int(s) for s in os.environ.get("NEXUS_BENCH_BACKFILL_SCALES", "1,10,100").split(",")]
    sources = os.environ.get("NEXUS_BENCH_BACKFILL_SOURCES", "fred,cot,coinmetrics").split(",")
    figures: list[Figure] = []
    for source in sources:
        points: dict[str, list[tuple[int, float, float]]] = {"local": [], "spark": []}
        for scale in scales:
            root = scratch()
            env = isolated_env(root, NEXUS_SOURCE_MODE="files", BENCH_OUT=str(root / "out.json"))
            _lake(source, root, scale, env)
            for engine in ("local", "spark"):
                seconds, peak, rows = _backfill(source, engine, env)
                points[engine].append((rows, seconds, peak))
                name = f"backfill {source} {scale}x {engine}"
                figures.append(Figure(f"{name}: rows/s ({rows:,} rows, {seconds:.0f} s)", rows / seconds, "rows/s"))
                figures.append(Figure(f"{name}: peak memory", peak, "MB"))
                print(figures[-2].line(), figures[-1].line(), sep="\n", flush=True)
        local, spark = _fit(points["local"]), _fit(points["spark"])
        if local is None or spark is None:
            continue
        for nodes in (1, CLUSTER):
            rows = _break_even(local, spark, nodes)
            label = f"{source}: Spark on {nodes} x 2 cores beats local past"
            figures.append(Figure(label, rows if rows is not None else float("nan"), "rows"))
        if local.mb_per_row > 0:
            fits = FREE_MB / local.mb_per_row
            figures.append(Figure(f"{source}: local engine fits in {FREE_MB} MB up to", fits, "rows"))
    return figures
