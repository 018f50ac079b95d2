"""Helpers for benchmark scripts: an isolated environment, timing and peak memory of a command."""

from __future__ import annotations

import os
import resource
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


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="nexus-bench-"))


def since(started: float) -> float:
    return time.perf_counter() - started


__all__ = ["BIN", "REAL_DATA_DIR", "Figure", "isolated_env", "resource", "run_measured", "scratch", "since"]
