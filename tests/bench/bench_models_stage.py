"""The model stage's steps on the default lake, each as `nexus run` runs it: CPU seconds and wall time per step.

Each step (regimes, oos_predictions, evaluation, scorecard) materializes its Dagster asset alone in a fresh
process, in the order of `models_job`, on a copy of the lake of the current settings (build it with `make run`)
whose fit caches (gold/models/_cache) and stage records (gold/_stages) are removed: every fit, oracle and signals
history is computed as on a clean clone. CPU seconds count the step's process and every worker it starts (the
regimes' forkserver pool is stopped and waited for, so its workers are counted too); on a shared machine they
compare where wall seconds do not. `NEXUS_BENCH_MODELS_STEPS=regimes,scorecard` runs some steps only (a later
step reads what the earlier ones wrote in the copied lake, so any subset works on a built lake).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import PROJECT_ROOT, Figure

STEPS: tuple[str, ...] = ("regimes", "oos_predictions", "evaluation", "scorecard")


def materialize_step(step: str) -> None:
    """Materialize one model-stage asset in this process with the resources `nexus run` gives it."""
    from dagster import materialize

    from assets.models.assets import evaluation, oos_predictions, regimes
    from assets.signals.assets import signals_scorecard
    from resources.lake.resource import LakeResource
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    asset = {
        "regimes": regimes,
        "oos_predictions": oos_predictions,
        "evaluation": evaluation,
        "scorecard": signals_scorecard,
    }[step]
    settings = get_settings()
    resources = {"lake": LakeResource.from_settings(settings), "settings": SettingsResource.from_settings(settings)}
    result = materialize([asset], resources=resources, raise_on_error=True)
    assert result.success
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # waits for the pool's server, so its workers' CPU time reaches this process


def _measured(step: str, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the step's process tree, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = f"from tests.bench.bench_models_stage import materialize_step; materialize_step({step!r})"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def run() -> list[Figure]:
    from resources.settings import get_settings

    settings = get_settings()
    lake = Path(settings.lake_uri)
    if settings.lake_is_s3 or not (lake / "gold" / "models" / "oos_predictions").is_dir():
        print(f"  skipped: no built local lake at {settings.lake_uri} (make run)")
        return []
    chosen = [s for s in os.environ.get("NEXUS_BENCH_MODELS_STEPS", ",".join(STEPS)).split(",") if s]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="nexus-bench-models-") as tmp:
        copy = Path(tmp) / "lake"
        shutil.copytree(lake, copy, ignore=shutil.ignore_patterns("*.duckdb", "*.duckdb.wal", "feeds"))
        shutil.rmtree(copy / "gold" / "models" / "_cache", ignore_errors=True)
        shutil.rmtree(copy / "gold" / "_stages", ignore_errors=True)
        env = {**os.environ, "NEXUS_LAKE_URI": str(copy), "DAGSTER_HOME": str(Path(tmp) / "dagster_home")}
        (Path(tmp) / "dagster_home").mkdir()
        (Path(tmp) / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        total_cpu = total_wall = 0.0
        for step in STEPS:
            if step not in chosen:
                continue
            print(f"  {step} ...", flush=True)
            cpu, wall = _measured(step, env)
            total_cpu, total_wall = total_cpu + cpu, total_wall + wall
            figures.append(Figure(f"models: {step}, empty fit cache (CPU)", cpu, "cpu-s"))
            figures.append(Figure(f"models: {step} (wall, load {os.getloadavg()[0]:.0f})", wall, "s"))
        figures.append(Figure(f"models: {len(figures) // 2} steps in all (CPU)", total_cpu, "cpu-s"))
        figures.append(Figure("models: those steps in all (wall)", total_wall, "s"))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
