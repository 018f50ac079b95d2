"""Whole-graph figures: `nexus run` on the default range (first and repeated), the dbt build over its lake (12
instruments, 10 years), the nightly marts update after a one-day ingest, and a day's client deliveries.

The one-day figure is what the nightly marts asset spends on dbt (resources/marts_nightly.py: plan from the silver
tables' Delta versions, then dbt in process on what changed), as `nexus marts --json` reports it; the whole
command's wall time (interpreter start-up and imports, reference tables, dbt) is printed beside it.
"""

from __future__ import annotations

import json
import subprocess
import time

from tests.bench.common import BIN, Figure, isolated_env, run_measured, scratch

NEXUS = str(BIN / "nexus")
# the first two trading days after the default range (2016-01-01 .. 2025-12-31)
NEXT_DAYS = ("2026-01-02", "2026-01-05")


def _marts(env: dict[str, str], *args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    out = subprocess.run([NEXUS, "marts", "--json", "--no-publish", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"nexus marts failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def run() -> list[Figure]:
    root = scratch()
    env = isolated_env(root, NEXUS_FEEDS_URI=str(root / "feeds"))
    first, peak = run_measured([NEXUS, "run"], env)
    again, peak2 = run_measured([NEXUS, "run"], env)
    cli_build = ["dbt", "build", "--quiet", "--exclude-resource-type", "unit_test"]  # models + data tests
    full, dbt_peak = run_measured([NEXUS, *cli_build], env)
    with_unit, _ = run_measured([NEXUS, "dbt", "build", "--quiet"], env)
    nightly_full, _ = _marts(env, "--full")
    unchanged, _ = _marts(env)
    # one more day from every daily publisher, then the nightly update, twice: the first update after the bulk
    # load looks at the whole loaded batch again (the incremental mart's 10-minute margin), the second is what
    # a weekday night costs
    updates = []
    for day in NEXT_DAYS:
        for source in ("cboe", "fred", "coinmetrics", "eia"):
            run_measured([NEXUS, "ingest", source, "--end", day], env)
        updates.append(_marts(env))
    (first_update, _), (one_day, one_day_wall) = updates
    assert one_day["plan"] == "changed" and unchanged["plan"] == "nothing", (one_day, unchanged)
    deliver, _ = run_measured([NEXUS, "feeds", "deliver", "--date", "2025-12-31"], env)
    return [
        Figure("nexus run, whole graph, default range, first run (wall)", first, "s"),
        Figure("nexus run, first run (peak RSS of one process)", peak, "MB"),
        Figure("nexus run, re-run with unchanged inputs (wall)", again, "s"),
        Figure("nexus run, re-run (peak RSS)", peak2, "MB"),
        Figure("dbt build, 12 instruments x 10 years, models + data tests (CLI wall)", full, "s", "target <= 15 s"),
        Figure("dbt build with the dbt unit tests too (what CI runs, CLI wall)", with_unit, "s"),
        Figure("dbt build, peak RSS", dbt_peak, "MB"),
        Figure(f"nightly marts build, full, in process ({nightly_full['nodes']} nodes)", nightly_full["seconds"], "s"),
        Figure("nightly marts build, nothing changed", unchanged["seconds"], "s"),
        Figure(
            f"nightly marts update, first after the bulk load ({first_update['nodes']} nodes)",
            first_update["seconds"],
            "s",
        ),
        Figure(
            f"nightly marts update after a one-day ingest ({one_day['nodes']} nodes)",
            one_day["seconds"],
            "s",
            "target <= 5 s",
        ),
        Figure("nexus marts after a one-day ingest, whole command (wall)", one_day_wall, "s"),
        Figure("nexus feeds deliver, 3 sample clients, one day (wall, CLI)", deliver, "s"),
    ]
