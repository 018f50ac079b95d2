"""Figures beside their limits (issue 15), part two: the whole graph. One `nexus run` on the default range in a
scratch lake, then:

- `nexus run` wall time against the sum of its assets' own compute (every step's time in the run's event log):
  Dagster's overhead share, split into what happens outside the runs (interpreter, imports, loading the code
  location, launching each job) and inside them between steps;
- the marts build (`nexus dbt build`, models and data tests, parse state warm) against DuckDB running dbt's
  compiled SQL directly on the same silver tables (tests/bench/duckdb_direct.py): dbt's overhead share. Both
  builds' tables are compared by row count, so the floor did the same work.
"""

from __future__ import annotations

import json
import time

import duckdb

from tests.bench.common import BIN, Figure, beside, isolated_env, overhead_share, run_measured, scratch, since
from tests.bench.duckdb_direct import run_compiled
from tests.bench.run_timings import timings_of_home

NEXUS = str(BIN / "nexus")


def _row_counts(path, relations: list[str]) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r: con.execute(f"select count(*) from {r}").fetchone()[0] for r in relations}
    finally:
        con.close()


def run() -> list[Figure]:
    root = scratch()
    env = isolated_env(root, NEXUS_FEEDS_URI=str(root / "feeds"))
    print("  nexus run, default range (a few minutes) ...", flush=True)
    wall, _ = run_measured([NEXUS, "run"], env)
    timings = timings_of_home(root / "dagster_home")
    compute = timings.steps_seconds
    figures = [
        beside("nexus run, whole graph, default range (wall)", wall, "s", {"assets' own compute": compute}),
        Figure("  Dagster's overhead share of nexus run", 100 * overhead_share(wall, compute), "%"),
        Figure("  outside runs: start-up, imports, code location, job launches", wall - timings.runs_seconds, "s"),
        Figure("  inside runs, between steps", timings.runs_seconds - compute, "s"),
    ]
    figures += [Figure(f"  steps of {job}", seconds, "s") for job, seconds in timings.by_job().items()]

    print("  dbt build, then DuckDB alone on dbt's compiled SQL ...", flush=True)
    target = root / "dbt_target"
    run_measured([NEXUS, "dbt", "parse", "--quiet", "--target-path", str(target)], env)  # warm parse state
    # --full-refresh: after `nexus run` the incremental marts exist, and dbt would compile their incremental branch
    # (which reads the table itself), not the whole build DuckDB alone does from an empty file
    build = ["build", "--quiet", "--full-refresh", "--exclude-resource-type", "unit_test", "--target-path", str(target)]
    dbt_wall, _ = run_measured([NEXUS, "dbt", *build], env)
    dbt_elapsed = json.loads((target / "run_results.json").read_text())["elapsed_time"]
    started = time.perf_counter()
    phases = run_compiled(target / "manifest.json", root / "direct" / "nexus.duckdb")
    direct = since(started)
    manifest = json.loads((target / "manifest.json").read_text())
    tables = [
        n["relation_name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] != "view"
    ]
    built_by_dbt = _row_counts(env["NEXUS_DUCKDB_PATH"], tables)
    built_direct = _row_counts(root / "direct" / "nexus.duckdb", tables)
    if built_by_dbt != built_direct:
        differ = {t: (built_by_dbt[t], built_direct[t]) for t in tables if built_by_dbt[t] != built_direct[t]}
        raise RuntimeError(f"DuckDB alone built other row counts than dbt: {differ}")
    figures += [
        beside(
            f"nexus dbt build, {len(tables)} tables + data tests (CLI wall)", dbt_wall, "s", {"DuckDB alone": direct}
        ),
        Figure("  dbt's overhead share of the CLI build", 100 * overhead_share(dbt_wall, direct), "%"),
        beside("  dbt's own elapsed time (run_results.json)", dbt_elapsed, "s", {"DuckDB alone": direct}),
        Figure(
            "  DuckDB alone: load sources | models | tests",
            phases["sources"],
            "s",
            f"{phases['models']:.2f} s | {phases['tests']:.2f} s",
        ),
    ]
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
