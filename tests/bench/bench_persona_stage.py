"""The `persona_outputs` step on the default lake, as `nexus run` runs it: CPU seconds and wall time.

`nexus run` runs personas_job in its own run over the run's window of daily partitions (one run, a partition
range), in the process that ran the models. This benchmark does the same in a fresh process: it imports the
definitions (not timed), then materializes `persona_outputs` for the window on a copy of the lake of the current
settings (build it with `make run`) whose persona outputs (gold/personas, gold/audit, gold/reports) and persona
stage record are removed, so the step builds everything as in a first run. Twice: after the model stage's
forkserver has started (as the model steps of the same `nexus run` leave it; the step's report worker forks from
it), and alone. CPU seconds count the process and every worker it starts (the forkserver's own counters included:
it is not a waited-for child). `NEXUS_BENCH_KEEP=<dir>` keeps the built lake there (the second build's, with the
worker), to compare its outputs with another build's.

Those two runs use an instance in memory, so they time the step's compute and Dagster's own code. A third run,
after the models, is personas_job run by `nexus run`'s own runner into a SQLite instance (a new home written as
`nexus run` writes it, its first run): the difference is what Dagster's event storage costs per asset partition
(a planned and a materialization event for each of the 8 assets and each day). Dagster's own SQLite event log
commits each of them alone (~15 ms per asset partition on 2 cores); the project's stores each batch Dagster sends
in one transaction (resources/dagster_event_log.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_models_stage import _cpu
from tests.bench.common import PROJECT_ROOT, Figure

FIRST, LAST = "2025-12-01", "2025-12-31"
OUTPUTS = (("gold", "personas"), ("gold", "audit"), ("gold", "reports"), ("gold", "_stages", "personas.json"))


def materialize_personas(
    first: str = FIRST, last: str = LAST, *, after_models: bool = True, sqlite: bool = False
) -> tuple[float, float, int]:
    """Run the persona step over first..last in this process: (CPU s, wall s, asset partitions). `after_models`: the
    model stage's forkserver is started first (not timed), as the model steps of the same `nexus run` leave it.
    `sqlite`: personas_job runs exactly as `nexus run` runs it (`pipelines.runner.run_job`: the code location's
    job, recorded in the DAGSTER_HOME instance, SQLite storage); otherwise `persona_outputs` is materialized on an
    instance in memory, made before the clock starts (Dagster's code without its storage's I/O)."""
    from dagster import DagsterInstance, PartitionKeyRange, materialize

    if after_models:
        from assets.models.worker_pool import model_pool

        with model_pool(1) as pool:
            pool.submit(int).result()

    from assets.partitions import daily_partitions, range_tags
    from assets.personas.assets import persona_outputs
    from pipelines.definitions import defs  # nexus run has loaded the code location before its jobs run
    from pipelines.run_origin import CodeLocation
    from pipelines.runner import run_job
    from resources.lake.resource import LakeResource
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    settings = get_settings()
    resources = {"lake": LakeResource.from_settings(settings), "settings": SettingsResource.from_settings(settings)}
    job, location = defs.resolve_job_def("personas_job"), CodeLocation(PROJECT_ROOT / "workspace.yaml")
    instance = DagsterInstance.get() if sqlite else DagsterInstance.ephemeral()
    instance.get_runs(limit=1)  # storages created and opened before the clock starts, as in a `nexus run`
    instance.get_asset_records()
    tags = range_tags(first, last)
    cpu, started = _cpu(), time.perf_counter()
    if sqlite:
        outcome = run_job(job, instance, location, lambda _: None, tags=tags)
        assert outcome.success, outcome.error
    else:
        result = materialize([persona_outputs], resources=resources, tags=tags, instance=instance)
        assert result.success
    wall = time.perf_counter() - started
    days = daily_partitions.get_partition_keys_in_range(PartitionKeyRange(first, last))
    time.sleep(0.5)  # the forkserver reaps any worker when it exits
    return _cpu() - cpu, wall, len(days) * len(persona_outputs.keys)


def run() -> list[Figure]:
    from resources.dagster_instance import write_instance_yaml
    from resources.settings import get_settings

    settings = get_settings()
    lake = Path(settings.lake_uri)
    if settings.lake_is_s3 or not (lake / "gold" / "personas").is_dir():
        print(f"  skipped: no built local lake at {settings.lake_uri} (make run)")
        return []
    keep = os.environ.get("NEXUS_BENCH_KEEP")
    with tempfile.TemporaryDirectory(prefix="nexus-bench-personas-") as tmp:
        copy, home = Path(keep) if keep else Path(tmp) / "lake", Path(tmp) / "dagster_home"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(lake, copy, ignore=shutil.ignore_patterns("*.duckdb", "*.duckdb.wal", "feeds", "_cache"))
        home.mkdir()
        write_instance_yaml(home, settings)  # the instance `nexus run` writes (its event log storage included)
        env = {**os.environ, "NEXUS_LAKE_URI": str(copy), "DAGSTER_HOME": str(home)}
        figures = []
        walls: dict[str, tuple[float, int]] = {}
        runs = (
            (False, False, "alone, PDFs drawn in the step"),
            (True, False, "after the models, as in nexus run"),
            (True, True, "after the models, nexus run's runner, new SQLite home"),
        )
        for after_models, sqlite, label in runs:
            code = (
                "import json; from tests.bench.bench_persona_stage import materialize_personas; "
                f"print('__STEP__', json.dumps(materialize_personas(after_models={after_models}, sqlite={sqlite})))"
            )
            for parts in OUTPUTS:
                path = copy.joinpath(*parts)
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"persona_outputs failed:\n{out.stderr[-3000:]}")
            line = next(x for x in out.stdout.splitlines() if x.startswith("__STEP__"))
            cpu, wall, partitions = json.loads(line.removeprefix("__STEP__"))
            walls[label] = (wall, partitions)
            load = os.getloadavg()[0]
            figures.append(Figure(f"personas: persona_outputs, 31 days, {label} (CPU)", cpu, "cpu-s"))
            figures.append(  # the goal; the SQLite line is the step as `nexus run` stores it
                Figure(f"personas: persona_outputs, 31 days, {label} (wall, load {load:.1f})", wall, "s", "<= 3 s")
            )
        (memory, partitions), (stored, _) = walls[runs[1][2]], walls[runs[2][2]]
        figures.append(
            Figure(
                f"personas: Dagster's SQLite events per asset partition ({partitions} partitions: planned + done)",
                1000 * (stored - memory) / max(partitions, 1),
                "ms",
                f"= {stored - memory:.2f} s of the SQLite run",
            )
        )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
