"""The nightly marts build: dbt in process, only the models downstream of silver tables that changed.

Used by the Dagster marts asset when the whole project is selected (the nightly job, `nexus run`) and by
`make bench`. A subset chosen in the Dagster UI is built as asked instead, and records nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from resources.dbt import DBT_PROJECT_DIR
from resources.dbt_inprocess import DbtInvocation, invoke, parse_key, parsed_manifest
from resources.lake.storage import LakeStorage
from resources.marts_changes import (
    BuildPlan,
    plan_build,
    project_fingerprint,
    record_build,
    source_tables,
    source_versions,
)
from resources.settings import Settings

# Models and data tests. dbt unit tests (fixed inputs) run in CI instead, as dbt recommends.
# dbt's target folder for the nightly build; stable, so the parsed-manifest cache survives between runs
NIGHTLY_TARGET = DBT_PROJECT_DIR / "target" / "dagster"
# --no-write-json: the results come back in process; writing manifest.json and run_results.json costs ~0.4 s.
PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test", "--no-write-json"]


@dataclass
class NightlyBuild:
    plan: BuildPlan
    invocation: DbtInvocation | None
    seconds: float

    @property
    def success(self) -> bool:
        return self.invocation is None or self.invocation.success

    @property
    def nodes(self) -> int:
        return 0 if self.invocation is None else len(self.invocation.result_events)

    def as_dict(self) -> dict[str, object]:
        return {
            "success": self.success,
            "plan": "full" if self.plan.is_full else "nothing" if self.plan.is_noop else "changed",
            "reason": self.plan.reason,
            "changed_sources": list(self.plan.changed_sources),
            "nodes": self.nodes,
            "seconds": round(self.seconds, 3),
            "failures": [] if self.invocation is None else self.invocation.failures,
        }


def nightly_plan(
    settings: Settings, target_path: Path = NIGHTLY_TARGET
) -> tuple[BuildPlan, dict[str, int | None], str]:
    """What the nightly build would do now (no dbt run): the plan, the sources' versions and the project's
    fingerprint. Cheap: the parsed manifest is cached, and the warehouse is only opened read-only."""
    manifest = parsed_manifest(target_path)
    versions = source_versions(LakeStorage.from_settings(settings), source_tables(manifest))
    fingerprint = project_fingerprint(parse_key())
    return plan_build(manifest, versions, fingerprint, settings.duckdb_path), versions, fingerprint


def nightly_build(settings: Settings, target_path: Path = NIGHTLY_TARGET, *, full: bool = False) -> NightlyBuild:
    """Plan (full, changed sources only, or nothing), run dbt, and record the sources' versions on success."""
    started = time.perf_counter()
    plan, versions, fingerprint = nightly_plan(settings, target_path)
    if full and not plan.is_full:
        plan = BuildPlan(None, "full build requested")
    if plan.is_noop:
        return NightlyBuild(plan, None, time.perf_counter() - started)
    # a full build also recomputes incremental models from scratch: the project's code or settings changed, or
    # the warehouse has no record of what its tables were built from
    selection = ["--full-refresh"] if plan.select is None else ["--select", " ".join(plan.select)]
    invocation = invoke([*PRODUCTION_BUILD, *selection], target_path)
    if invocation.success:
        record_build(settings.duckdb_path, versions, fingerprint)
    return NightlyBuild(plan, invocation, time.perf_counter() - started)
