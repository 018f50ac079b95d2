"""Helpers for benchmark scripts: an isolated environment, timing and peak memory of a command."""

from __future__ import annotations

import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from resources.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
REAL_DATA_DIR = Path(os.environ.get("NEXUS_REAL_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "real"))


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""

    def line(self) -> str:
        return f"{self.name:<62} {self.value:>10.2f} {self.unit:<6} {self.target}"


def isolated_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(
        NEXUS_LAKE_URI=str(root / "lake"),
        NEXUS_DUCKDB_PATH=str(root / "warehouse" / "nexus.duckdb"),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(root / "gold" / "nexus_marts.duckdb"),
        DAGSTER_HOME=str(root / "dagster_home"),
        **extra,
    )
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return env


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of the largest process the command started) — one command per call."""
    script = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:]);dt=time.perf_counter()-t;"
        "m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024;"
        "print(f'__BENCH__ {dt} {m} {r.returncode}', file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", script, *cmd], env=env, cwd=cwd, capture_output=True, text=True)
    line = next(x for x in out.stderr.splitlines() if x.startswith("__BENCH__"))
    _, seconds, peak, code = line.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return float(seconds), float(peak)


def ratio(value: float, floor: float) -> float:
    """How many times the floor's cost a figure is (1.0 = as fast as the floor; nan without a positive floor)."""
    return value / floor if floor > 0 else math.nan


def overhead_share(total: float, own_compute: float) -> float:
    """The share of `total` spent outside the work itself (0 = none; clipped at 0 when timings jitter)."""
    return max(0.0, 1.0 - own_compute / total) if total > 0 else math.nan


def growth_exponent(sizes: list[float], costs: list[float]) -> float:
    """Least-squares slope of log(cost) on log(size): 1 is linear, 2 quadratic, below 1 better than linear."""
    points = [(math.log(s), math.log(c)) for s, c in zip(sizes, costs, strict=True) if s > 0 and c > 0]
    if len(points) < 2:
        return math.nan
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else math.nan


def beside(name: str, value: float, unit: str, floors: dict[str, float]) -> Figure:
    """A figure with each limit measured in the same run and the figure's ratio to it, e.g. `2.1x pyarrow 0.05s`."""
    text = " | ".join(f"{ratio(value, cost):.1f}x {label} {cost:.2f} {unit}" for label, cost in floors.items())
    return Figure(name, value, unit, text)


def median_seconds(fn, repeats: int = 5) -> float:
    """Median wall time of `fn()` over `repeats` calls, after one warm-up call (imports, caches)."""
    fn()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="nexus-bench-"))


def since(started: float) -> float:
    return time.perf_counter() - started


__all__ = [
    "BIN",
    "REAL_DATA_DIR",
    "Figure",
    "beside",
    "growth_exponent",
    "isolated_env",
    "median_seconds",
    "overhead_share",
    "ratio",
    "resource",
    "run_measured",
    "scratch",
    "since",
]
