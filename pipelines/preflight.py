"""Leave a job out of `nexus run` when every step of it would skip its work.

Each step's asset decides first thing whether its inputs (table versions), code and configuration are those of its
last build (assets/skips.py). Asking the same question before the job is launched costs a few Delta version reads,
where a Dagster run costs seconds even when all its steps skip: creating and planning the run, an event per step
and per asset (partition), dbt's carried test verdicts read back one at a time. So a job is left out when:

- every step that materializes has a registered probe, and every probe finds its last record still valid;
- its check-only steps check assets of those steps (their data did not change, so their last verdicts stand);
- its last run succeeded (a failed run, such as a blocking check that failed, is run again to show the failure).

What a skipped job leaves behind: one AssetObservation per asset saying "skipped: inputs unchanged" (on the
window's last partition for partitioned assets), so the Dagster UI tells the same story as a run that skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dagster import AssetKey, AssetObservation, DagsterInstance, DagsterRunStatus, JobDefinition, RunsFilter
from dagster._core.definitions.dependency import NodeHandle

from assets.skips import PROBES, Window
from resources.lake.stage_state import SKIPPED
from resources.lake.storage import LakeStorage
from resources.settings import Settings

DECIDED_BY = "nexus run: inputs, code and configuration as at the last build; no run launched"


@dataclass
class SkippedStep:
    op: str
    keys: list[AssetKey]
    partitioned: bool
    seconds: float
    summary: dict = field(default_factory=dict)


def _last_run_succeeded(instance: DagsterInstance, job_name: str) -> bool:
    runs = instance.get_runs(filters=RunsFilter(job_name=job_name), limit=1)
    return bool(runs) and runs[0].status == DagsterRunStatus.SUCCESS


def skippable_steps(
    job: JobDefinition, storage: LakeStorage, settings: Settings, window: Window, instance: DagsterInstance
) -> list[SkippedStep] | None:
    """The job's steps, each with its record, if the whole job can be left out; None if it must run. Each probe
    decides with `settings`, the run's (the ones the job's steps would get through their SettingsResource)."""
    layer = job.asset_layer
    steps: list[SkippedStep] = []
    checked: set[AssetKey] = set()
    selected = set(layer.selected_asset_keys)
    for name in job.graph.node_dict:
        assets_def = layer.get_assets_def_for_node(NodeHandle(name, None))
        if assets_def is None:
            return None  # a plain op: nothing says what it would do
        keys = [key for key in assets_def.keys if key in selected]
        if not keys:
            checked.update(check.asset_key for check in assets_def.check_keys)
            continue
        probe = PROBES.get(name)
        if probe is None:
            return None
        started = time.perf_counter()
        record = probe(storage, settings, window)
        if record is None:
            return None
        partitioned = assets_def.partitions_def is not None
        steps.append(SkippedStep(name, keys, partitioned, time.perf_counter() - started, record.summary))
    covered = {key for step in steps for key in step.keys}
    if not steps or not checked <= covered or not _last_run_succeeded(instance, job.name):
        return None
    return steps


def record_skips(instance: DagsterInstance, steps: list[SkippedStep], partition: str | None, window: Window) -> None:
    """One observation per asset of a job left out, so the catalog shows why it was not materialized again."""
    span = f"{window.first} .. {window.last}" if window.first else str(window.last)
    for step in steps:
        for key in step.keys:
            instance.report_runless_asset_event(
                AssetObservation(
                    asset_key=key,
                    partition=partition if step.partitioned else None,
                    metadata={"skipped": SKIPPED, "decided_by": DECIDED_BY, "window": span},
                )
            )
