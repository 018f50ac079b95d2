"""Whole-graph figures: `nexus run` on the default range (first and repeated), the dbt build over its lake (12
instruments, 10 years), a one-day update of that build, and a day's client deliveries."""

from __future__ import annotations

from tests.bench.common import BIN, Figure, isolated_env, run_measured, scratch

NEXUS = str(BIN / "nexus")
NEXT_DAY = "2026-01-02"  # the first trading day after the default range (2016-01-01 .. 2025-12-31)


def run() -> list[Figure]:
    root = scratch()
    env = isolated_env(root, NEXUS_FEEDS_URI=str(root / "feeds"))
    first, peak = run_measured([NEXUS, "run"], env)
    again, peak2 = run_measured([NEXUS, "run"], env)
    production = ["dbt", "build", "--quiet", "--exclude-resource-type", "unit_test"]  # what the marts asset runs
    full, dbt_peak = run_measured([NEXUS, *production], env)
    with_unit, _ = run_measured([NEXUS, "dbt", "build", "--quiet"], env)
    # one more day from every daily publisher, then the same build: what a nightly update costs
    for source in ("cboe", "fred", "coinmetrics", "eia"):
        run_measured([NEXUS, "ingest", source, "--end", NEXT_DAY], env)
    one_day, _ = run_measured([NEXUS, *production], env)
    models_only, _ = run_measured([NEXUS, "dbt", "run", "--quiet"], env)
    deliver, _ = run_measured([NEXUS, "feeds", "deliver", "--date", "2025-12-31"], env)
    return [
        Figure("nexus run, whole graph, default range, first run (wall)", first, "s"),
        Figure("nexus run, first run (peak RSS of one process)", peak, "MB"),
        Figure("nexus run, re-run with unchanged inputs (wall)", again, "s"),
        Figure("nexus run, re-run (peak RSS)", peak2, "MB"),
        Figure("dbt build, 12 instruments x 10 years, models + data tests (wall)", full, "s", "target <= 15 s"),
        Figure("dbt build with the dbt unit tests too (what CI runs)", with_unit, "s"),
        Figure("dbt build, peak RSS", dbt_peak, "MB"),
        Figure("dbt build after a one-day ingest (wall)", one_day, "s", "target <= 5 s"),
        Figure("dbt run (models only, no tests) after it (wall)", models_only, "s"),
        Figure("nexus feeds deliver, 3 sample clients, one day (wall, CLI)", deliver, "s"),
    ]
