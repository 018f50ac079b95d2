"""Foundation figures: `nexus run` on the default range (first and repeated) and the dbt build alone."""

from __future__ import annotations

from tests.bench.common import BIN, Figure, isolated_env, run_measured, scratch


def run() -> list[Figure]:
    root = scratch()
    env = isolated_env(root)
    first, peak = run_measured([str(BIN / "nexus"), "run"], env)
    again, peak2 = run_measured([str(BIN / "nexus"), "run"], env)
    dbt, _ = run_measured([str(BIN / "nexus"), "dbt", "build", "--quiet"], env)
    return [
        Figure("nexus run, default range, first run (wall)", first, "s", "target <= 60 s (Cboe slice)"),
        Figure("nexus run, default range, first run (peak RSS)", peak, "MB"),
        Figure("nexus run, default range, re-run (wall)", again, "s", "target <= 30 s (Cboe slice)"),
        Figure("nexus run, re-run (peak RSS)", peak2, "MB"),
        Figure("dbt build, all models and tests (wall)", dbt, "s"),
    ]
