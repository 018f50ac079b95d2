"""Backfill throughput of both engines on scaled simulated lakes (COT, FRED, Coin Metrics): rows/s and peak memory.

1x is the default universe over the default 10 years: FRED's simulated series, COT's simulated markets in each
report, Coin Metrics' two assets. 10x and 100x multiply the series, markets or assets (replicas from the simulated
publisher's scale parameter). Each lake gets two publication states, so the backfill merges real revisions.
`NEXUS_BENCH_BACKFILL_SCALES` (default 1,10,100) and `NEXUS_BENCH_BACKFILL_SOURCES` (default fred,cot,coinmetrics)
choose what runs. The lakes of the scales in `NEXUS_BENCH_BACKFILL_INGEST_SCALES` (default 1,10) are built by the
nightly ingest (its time printed); the others hold the same payloads stored in bronze only (`put_payloads`, a file
at a time), which is all a backfill reads. Each backfill runs in its own process, so peak memory is that engine's
(Spark: the Python driver's peak plus the peaks of its JVM and Python workers, read from /proc before the session
ends: an upper bound, as the peaks need not coincide).

When a cluster pays off: each engine's time is modelled as t(rows) = fixed + rows / rate, fitted through its two
largest measured scales (fixed: start-up, planning, the one commit; rate: the marginal rows per second). A
cluster of n such 2-core machines keeps Spark's fixed cost and multiplies its marginal rate by n (the parse and
merge are per payload and per key, so they spread), so it beats the local engine past
rows* = (fixed_spark - fixed_local) / (1/rate_local - 1/(n * rate_spark)), printed for n = 1 (this machine) and
n = 10. The local engine also stops at memory: its peak grows with rows, so the largest universe it can hold
on this machine (15 GiB free) is printed from the fitted MB per row.

A scale whose predicted time (building its lake or either backfill) exceeds `NEXUS_BENCH_BACKFILL_BUDGET_S`
(default 900 s) is not run: its figures are extrapolated from the largest measured scale with the growth exponent
measured between the measured scales (time ~ rows^k; memory linear in rows) and printed marked "extrapolated".
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.bench.common import BIN, Figure, growth_exponent, isolated_env, run_measured, scratch

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


def _lake(source: str, root: Path, scale: int, env: dict[str, str]) -> float:
    """Build the scaled lake with the nightly ingest (two publication states); returns the ingest seconds."""
    seconds = 0.0
    for k, as_of in enumerate(AS_OF):
        folder = root / f"files{k}"
        _write(source, folder, as_of, scale)
        seconds += run_measured([str(BIN / "nexus"), "ingest", source, "--files", str(folder)], env)[0]
    return seconds


def jvm_peak_mb() -> float:
    """Peak resident memory (VmHWM) of this process's Spark JVM and its Python workers, summed, in MB (0 without a
    session). The JVM is not a waited-for child of the driver, so `ru_maxrss` never includes it."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    gateway = getattr(getattr(context, "_gateway", None), "proc", None)
    if gateway is None:
        return 0.0
    status: dict[int, dict[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines = (entry / "status").read_text().splitlines()
            except OSError:
                continue
            status[int(entry.name)] = dict(line.split(":", 1) for line in lines if ":" in line)
    tree, total = {gateway.pid}, 0.0
    for _ in range(4):  # the JVM, its worker daemon, the daemon's forked workers
        tree |= {pid for pid, st in status.items() if int(st.get("PPid", "0")) in tree}
    for pid in tree:
        total += int(status.get(pid, {}).get("VmHWM", "0 kB").split()[0]) / 1024
    return total


def _client_payloads(source: str) -> Callable[[Iterable[Path]], list]:
    """The source's own files-mode reader (what `nexus ingest SOURCE --files` stores in bronze)."""
    if source == "fred":
        from resources.sources.fred.client import payloads_from_files
    elif source == "cot":
        from resources.sources.cot.client import payloads_from_files
    else:
        from resources.sources.coinmetrics.client import payloads_from_files
    return payloads_from_files


def _bronze_lake(source: str, root: Path, scale: int, env: dict[str, str]) -> float:
    """Store the scaled lake's payloads in bronze only (two publication states, a file at a time): all a backfill
    reads. At 100x the nightly ingest of the lake costs more time and memory than the backfill it prepares."""
    from resources.lake.bronze import put_payloads
    from resources.lake.storage import LakeStorage

    storage, read = LakeStorage(root_uri=env["NEXUS_LAKE_URI"]), _client_payloads(source)
    began = time.perf_counter()
    for k, as_of in enumerate(AS_OF):
        folder = root / f"files{k}"
        _write(source, folder, as_of, scale)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            put_payloads(storage, read([path]), f"bench-bronze-{k}")
    return time.perf_counter() - began


def _backfill(source: str, engine: str, env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, peak MB, rows) of one backfill in its own process; Spark's peak adds its JVM and workers'."""
    script = (
        "import json,os;from resources.lake.storage import LakeStorage;"
        "from resources.spark.backfill import run_backfill;"
        f"r=run_backfill(LakeStorage(root_uri=os.environ['NEXUS_LAKE_URI']),'{source}',engine='{engine}',"
        "run_id='bench');"
        f"from tests.bench.bench_backfill import jvm_peak_mb;jvm=jvm_peak_mb() if '{engine}'=='spark' else 0.0;"
        "open(os.environ['BENCH_OUT'],'w').write(json.dumps({'rows':r.rows,'seconds':r.seconds,'jvm_mb':jvm}))"
    )
    seconds, peak = run_measured([sys.executable, "-c", script], env)
    out = json.loads(Path(env["BENCH_OUT"]).read_text())
    return seconds, peak + out["jvm_mb"], out["rows"]


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


@dataclass
class Point:
    scale: int
    rows: int
    seconds: float
    peak_mb: float


def _extrapolate(measured: list[Point], scale: int) -> tuple[Point, float]:
    """The figures at `scale` from the measured ones: time ~ rows^k (k fitted on the measured points), memory
    linear in rows through the two largest; returns the point and k."""
    k = growth_exponent([p.rows for p in measured], [p.seconds for p in measured])
    last = measured[-1]
    rows = round(last.rows * scale / last.scale)
    fit = _fit([(p.rows, p.seconds, p.peak_mb) for p in measured])
    peak = last.peak_mb + (fit.mb_per_row if fit else 0.0) * (rows - last.rows)
    return Point(scale, rows, last.seconds * (rows / last.rows) ** k, peak), k


def _predicted(measured: list[float], scales: list[int], scale: int) -> float:
    """Seconds at `scale` by the growth exponent of the measured scales (0 when there is nothing to go on)."""
    if len(measured) < 2:
        return 0.0
    k = growth_exponent([float(s) for s in scales], measured)
    return measured[-1] * (scale / scales[-1]) ** k


def run() -> list[Figure]:
    scales = [int(s) for s in os.environ.get("NEXUS_BENCH_BACKFILL_SCALES", "1,10,100").split(",")]
    sources = os.environ.get("NEXUS_BENCH_BACKFILL_SOURCES", "fred,cot,coinmetrics").split(",")
    budget = float(os.environ.get("NEXUS_BENCH_BACKFILL_BUDGET_S", "900"))
    ingest_scales = {int(s) for s in os.environ.get("NEXUS_BENCH_BACKFILL_INGEST_SCALES", "1,10").split(",") if s}
    figures: list[Figure] = []

    def show(figure: Figure) -> None:
        figures.append(figure)
        print(figure.line(), flush=True)

    for source in sources:
        points: dict[str, list[Point]] = {"local": [], "spark": []}
        ingest: list[float] = []
        for scale in scales:
            done = [p.scale for p in points["local"]]
            worst = max(
                [_predicted(ingest, done[: len(ingest)], scale) if scale in ingest_scales else 0.0]
                + [_predicted([p.seconds for p in points[e]], done, scale) for e in points]
            )
            if worst > budget:
                for engine, measured in points.items():
                    point, k = _extrapolate(measured, scale)
                    name = f"backfill {source} {scale}x {engine}"
                    note = f"extrapolated: time ~ rows^{k:.2f} from {done[0]}x..{done[-1]}x; ~{point.seconds:.0f} s"
                    show(Figure(f"{name}: rows/s ({point.rows:,} rows)", point.rows / point.seconds, "rows/s", note))
                    show(Figure(f"{name}: peak memory", point.peak_mb, "MB", "extrapolated: linear in rows"))
                continue
            root = scratch()
            env = isolated_env(root, NEXUS_SOURCE_MODE="files", BENCH_OUT=str(root / "out.json"))
            if scale in ingest_scales:
                ingest.append(_lake(source, root, scale, env))
                show(Figure(f"ingest {source} {scale}x (nightly path, two states)", ingest[-1], "s"))
            else:
                stored = _bronze_lake(source, root, scale, env)
                show(Figure(f"bronze {source} {scale}x (payloads stored, not landed)", stored, "s"))
            for engine in ("local", "spark"):
                seconds, peak, rows = _backfill(source, engine, env)
                points[engine].append(Point(scale, rows, seconds, peak))
                name = f"backfill {source} {scale}x {engine}"
                show(Figure(f"{name}: rows/s ({rows:,} rows, {seconds:.0f} s)", rows / seconds, "rows/s"))
                show(Figure(f"{name}: peak memory", peak, "MB"))
        local = _fit([(p.rows, p.seconds, p.peak_mb) for p in points["local"]])
        spark = _fit([(p.rows, p.seconds, p.peak_mb) for p in points["spark"]])
        if local is None or spark is None:
            continue
        for nodes in (1, CLUSTER):
            rows = _break_even(local, spark, nodes)
            label = f"{source}: Spark on {nodes} x 2 cores beats local past"
            show(Figure(label, rows if rows is not None else float("nan"), "rows", "fit on the two largest measured"))
        if local.mb_per_row > 0:
            show(Figure(f"{source}: local engine fits in {FREE_MB} MB up to", FREE_MB / local.mb_per_row, "rows"))
    return figures
