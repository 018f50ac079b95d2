"""The model stage's steps on the default lake, as `nexus run` runs them: CPU seconds and wall time per step.

`nexus run` executes every job in its own process with Dagster's in-process executor, so the model steps
(regimes, oos_predictions, evaluation, scorecard) run one after another in one process that has already imported
the definitions and, on a simulated lake, built the simulated world during the ingest. This benchmark does the
same in one fresh process: it imports the definitions and builds the world (not timed), then materializes each
asset alone, in the order of `models_job`, on a copy of the lake of the current settings (build it with
`make run`) whose fit caches (gold/models/_cache) and stage records (gold/_stages) are removed, so every fit,
oracle and signals history is computed as on a clean clone. A step's CPU seconds count the process and every
worker the step starts (spawned workers once joined; forkserver workers through the server's own counters in
/proc, as the server stays up between steps as in `nexus run`); on a shared machine they compare where wall
seconds do not. `NEXUS_BENCH_MODELS_STEPS=regimes,scorecard`
runs some steps only (a later step reads what the earlier ones wrote, so any subset works on a built lake).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import PROJECT_ROOT, Figure

STEPS: tuple[str, ...] = ("oos_predictions", "regimes", "evaluation", "scorecard")  # models_job's order


def _forkserver_cpu() -> float:
    """CPU seconds of the multiprocessing forkserver and of the workers it has reaped (0 when none runs): it is not
    this process's waited-for child until stopped, so RUSAGE_CHILDREN does not count it."""
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _forkserver_cpu()


def materialize_steps(steps: list[str]) -> dict[str, tuple[float, float]]:
    """Materialize model-stage assets one by one in this process, as `nexus run` does: {step: (CPU s, wall s)}."""
    from dagster import materialize

    import pipelines.definitions  # noqa: F401  (nexus run has loaded the code location before its jobs run)
    from assets.models.assets import evaluation, oos_predictions, regimes
    from assets.signals.assets import signals_scorecard
    from resources.lake.resource import LakeResource
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    assets = {
        "regimes": regimes,
        "oos_predictions": oos_predictions,
        "evaluation": evaluation,
        "scorecard": signals_scorecard,
    }
    settings = get_settings()
    if settings.source_mode == "simulated":  # the ingest of the same `nexus run` built it
        from resources.simulated.world import world_for

        world_for(settings.seed)
    resources = {"lake": LakeResource.from_settings(settings), "settings": SettingsResource.from_settings(settings)}
    out = {}
    for step in steps:
        cpu, started = _cpu(), time.perf_counter()
        assert materialize([assets[step]], resources=resources, raise_on_error=True).success
        wall = time.perf_counter() - started
        time.sleep(0.5)  # the forkserver reaps the pool's workers when they exit
        out[step] = (_cpu() - cpu, wall)
    return out


def run() -> list[Figure]:
    from resources.settings import get_settings

    settings = get_settings()
    lake = Path(settings.lake_uri)
    if settings.lake_is_s3 or not (lake / "gold" / "models" / "oos_predictions").is_dir():
        print(f"  skipped: no built local lake at {settings.lake_uri} (make run)")
        return []
    wanted = os.environ.get("NEXUS_BENCH_MODELS_STEPS", ",".join(STEPS)).split(",")
    steps = [s for s in STEPS if s in wanted]
    with tempfile.TemporaryDirectory(prefix="nexus-bench-models-") as tmp:
        copy, home = Path(tmp) / "lake", Path(tmp) / "dagster_home"
        shutil.copytree(lake, copy, ignore=shutil.ignore_patterns("*.duckdb", "*.duckdb.wal", "feeds"))
        shutil.rmtree(copy / "gold" / "models" / "_cache", ignore_errors=True)
        shutil.rmtree(copy / "gold" / "_stages", ignore_errors=True)
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "NEXUS_LAKE_URI": str(copy), "DAGSTER_HOME": str(home)}
        code = (
            "import json; from tests.bench.bench_models_stage import materialize_steps; "
            f"print('__STEPS__', json.dumps(materialize_steps({steps!r})))"
        )
        print(f"  {', '.join(steps)} ...", flush=True)
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"model steps failed:\n{out.stderr[-3000:]}")
        line = next(x for x in out.stdout.splitlines() if x.startswith("__STEPS__"))
        measured = json.loads(line.removeprefix("__STEPS__"))
    load = os.getloadavg()[0]
    figures = []
    for step, (cpu, wall) in measured.items():
        figures.append(Figure(f"models: {step}, empty fit cache (CPU)", cpu, "cpu-s"))
        figures.append(Figure(f"models: {step} (wall, load {load:.0f})", wall, "s"))
    figures.append(Figure(f"models: {len(measured)} steps in all (CPU)", sum(c for c, _ in measured.values()), "cpu-s"))
    figures.append(Figure("models: those steps in all (wall)", sum(w for _, w in measured.values()), "s"))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
