"""Run the asset graph end to end from the CLI, in process, recorded in the project's Dagster instance.

Jobs run in dependency order (partitioned ingest over the date range as one single-run backfill, then the
unpartitioned stages). Each run shows up in the Dagster UI like a run launched there. Progress is printed step
by step through a Dagster logger.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import DagsterInstance, InitLoggerContext, JobDefinition, logger
from pydantic import BaseModel, Field

from assets.skips import Window
from pipelines.chain_lock import CLI_TAG, one_chain_at_a_time, refuse_if_runs_in_progress
from pipelines.preflight import record_skips, skippable_steps
from pipelines.run_origin import CodeLocation, execute_as_location_run
from resources.lake.stage_state import SKIPPED

if TYPE_CHECKING:
    from resources.lake.storage import LakeStorage
    from resources.settings import Settings

Printer = Callable[[str], None]


@dataclass
class StepLine:
    step: str
    status: str
    seconds: float
    assets: list[str] = field(default_factory=list)
    rows: int = 0  # rows its materializations report writing (dagster/row_count)
    skipped: int = 0  # materializations whose metadata says the work was skipped (inputs unchanged)


@dataclass
class JobOutcome:
    job: str
    run_id: str
    success: bool
    seconds: float
    steps: list[StepLine]
    failed_checks: list[str]
    error: str | None = None


class _ProgressHandler(logging.Handler):
    """Turns Dagster step events into one readable line each."""

    def __init__(self, printer: Printer) -> None:
        super().__init__(level=logging.DEBUG)
        self.printer = printer
        self.started: dict[str, float] = {}
        self.steps: list[StepLine] = []
        self.assets: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        self.skipped: dict[str, int] = {}
        self.failed_checks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            self.printer(f"  ▶ {step}")
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            self.assets.setdefault(step, []).append(materialization.asset_key.to_user_string())
            rows, skipped = _rows_and_skip(materialization.metadata)
            self.rows[step] = self.rows.get(step, 0) + rows
            self.skipped[step] = self.skipped.get(step, 0) + skipped
        elif kind == "ASSET_OBSERVATION":  # a step that skipped materializing says so with an observation
            observation = event.event_specific_data.asset_observation
            if _rows_and_skip(observation.metadata)[1]:
                self.assets.setdefault(step, []).append(observation.asset_key.to_user_string())
                self.skipped[step] = self.skipped.get(step, 0) + 1
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                self.failed_checks.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
                self.printer(f"    ✗ check {data.asset_key.to_user_string()} {data.check_name} failed")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            seconds = time.perf_counter() - self.started.get(step, time.perf_counter())
            status = {"STEP_SUCCESS": "ok", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}[kind]
            assets = self.assets.get(step, [])
            mark = {"ok": "✔", "FAILED": "✗", "skipped": "·"}[status]
            shown = f" ({len(assets)} assets)" if len(assets) > 1 else (f" ({assets[0]})" if assets else "")
            self.printer(f"  {mark} {step}{shown} {status} in {seconds:.1f}s")
            self.steps.append(
                StepLine(step, status, seconds, assets, self.rows.get(step, 0), self.skipped.get(step, 0))
            )


def _rows_and_skip(metadata: dict) -> tuple[int, int]:
    """(rows written, 1 if skipped) from a materialization's metadata; a skipped stage wrote no rows."""
    skipped = getattr(metadata.get("skipped"), "value", metadata.get("skipped"))
    if isinstance(skipped, str) and skipped.startswith("skipped"):
        return 0, 1

    def number(name: str) -> int | None:
        value = getattr(metadata.get(name), "value", metadata.get(name))
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    # what the step wrote: explicit, else new plus revised rows (silver merges), else the table it rewrote
    written = number("rows_written")
    if written is None and number("added") is not None:
        written = (number("added") or 0) + (number("revised") or 0)
    if written is None:
        written = number("dagster/row_count")
    return written or 0, 0


def _progress_logger(handler: _ProgressHandler):
    @logger(description="Compact step progress for the nexus CLI.")
    def progress(_: InitLoggerContext) -> logging.Logger:
        log = logging.Logger("nexus_progress", level=logging.DEBUG)
        log.addHandler(handler)
        return log

    return progress


def run_job(
    job: JobDefinition,
    instance: DagsterInstance,
    location: CodeLocation,
    printer: Printer,
    *,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
) -> JobOutcome:
    handler = _ProgressHandler(printer)
    job_with_logger = job.with_logger_defs({"progress": _progress_logger(handler)})
    printer(f"● {job.name}" + (f" (partition {partition_key})" if partition_key else ""))
    started = time.perf_counter()
    try:
        result = execute_as_location_run(
            job_with_logger,
            location,
            instance,
            tags={CLI_TAG: "nexus run", **(tags or {})},
            partition_key=partition_key,
            run_config={"loggers": {"progress": {}}},
        )
    except Exception as exc:  # a job that cannot even start (bad definitions) is a failed job, not a crash
        return JobOutcome(job.name, "", False, time.perf_counter() - started, [], [], f"{type(exc).__name__}: {exc}")
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        if failures:
            data = failures[0].event_specific_data
            err = data.error if data else None
            while err is not None and err.cause is not None:  # the user's exception, not Dagster's wrapper
                err = err.cause
            error = f"{failures[0].step_key}: {err.message.strip()}" if err else "step failed"
        else:
            error = "run failed"
    outcome = JobOutcome(
        job=job.name,
        run_id=result.run_id,
        success=result.success,
        seconds=time.perf_counter() - started,
        steps=handler.steps,
        failed_checks=handler.failed_checks,
        error=error,
    )
    # the run's own record of where its time went, beside it in the Dagster UI (run tags are text)
    instance.add_run_tags(outcome.run_id, {TIMING_TAG: json.dumps([t.model_dump() for t in timing_rows([outcome])])})
    return outcome


def skip_job(
    job: JobDefinition,
    instance: DagsterInstance,
    storage: LakeStorage,
    settings: Settings,
    window: Window,
    printer: Printer,
    *,
    partition_key: str | None,
) -> JobOutcome | None:
    """The job left out, as an outcome whose every step skipped (pipelines/preflight.py), or None: run it."""
    started = time.perf_counter()
    steps = skippable_steps(job, storage, settings, window, instance)
    if steps is None:
        return None
    record_skips(instance, steps, partition_key, window)
    seconds = time.perf_counter() - started
    assets = sum(len(step.keys) for step in steps)
    printer(f"● {job.name}: {SKIPPED} ({len(steps)} steps, {assets} assets; no run launched) in {seconds:.1f}s")
    lines = [StepLine(s.op, "skipped", s.seconds, [k.to_user_string() for k in s.keys], 0, len(s.keys)) for s in steps]
    return JobOutcome(job.name, "", True, seconds, lines, [])


TIMING_TAG = "nexus/timing"


class StageTiming(BaseModel):
    """One line of the timing table: a job (stage) or one of its asset steps."""

    stage: str
    step: str = ""
    seconds: float
    rows: int
    skipped: str = Field(description="yes, no, or 'k/n' when k of the step's n assets skipped their work")


def _skipped(skipped: int, assets: int) -> str:
    if assets == 0 or skipped == 0:
        return "no"
    return "yes" if skipped == assets else f"{skipped}/{assets}"


def timing_rows(outcomes: list[JobOutcome]) -> list[StageTiming]:
    """Per job, its time, rows written and skips, then its steps that materialized assets, slowest first;
    last, the time no step accounts for (Dagster's orchestration between and around steps)."""
    rows: list[StageTiming] = []
    for outcome in outcomes:
        stage = outcome.job.removesuffix("_job")
        steps = [s for s in outcome.steps if s.assets]
        assets = sum(len(s.assets) for s in steps)
        rows.append(
            StageTiming(
                stage=stage,
                seconds=round(outcome.seconds, 1),
                rows=sum(s.rows for s in steps),
                skipped=_skipped(sum(s.skipped for s in steps), assets),
            )
        )
        for step in sorted(steps, key=lambda s: -s.seconds):
            rows.append(
                StageTiming(
                    stage=stage,
                    step=step.step,
                    seconds=round(step.seconds, 1),
                    rows=step.rows,
                    skipped=_skipped(step.skipped, len(step.assets)),
                )
            )
    return rows


def orchestration_seconds(outcomes: list[JobOutcome]) -> float:
    """Wall time of the jobs that none of their steps account for."""
    return sum(o.seconds for o in outcomes) - sum(s.seconds for o in outcomes for s in o.steps)


def model_stage_shortfall(settings: Settings) -> str | None:
    """Why the model stage cannot run on the settings' [start, end] (too little history for walk-forward training
    before the last `signal_history_days`), or None."""
    from assets.models.assets import stage_config
    from assets.models.pipeline import first_signal_date

    start, end, window_days = settings.start_date, settings.end_date, settings.signal_history_days
    config = stage_config(settings)
    signals_from = first_signal_date(start, config)
    if signals_from <= end - timedelta(days=window_days - 1):
        return None
    return (
        f"{start} → {end} is too short for the models: walk-forward training needs "
        f"{config.walk_forward.min_train_years:g} years of history, so signals would start about {signals_from}. "
        "Skipping models, signals, personas and feeds; start earlier (for example --start "
        f"{end - timedelta(days=5 * 365)}) to build them."
    )


def run_graph(settings: Settings, printer: Printer, log_path: Path | None = None) -> list[JobOutcome]:
    """Materialize the whole graph for `settings`' date range (the CLI's, read once at its edge); stops at the
    first failed job.

    Tools that print their own detailed output (dbt) write it to `log_path` instead of the terminal, so the
    terminal shows one line per step. Raises ChainBusy, before touching the instance, when another chain runs.
    """
    from resources.settings import PROJECT_ROOT

    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    with one_chain_at_a_time(home):
        instance = DagsterInstance.get()  # storage created once, under the lock
        refuse_if_runs_in_progress(instance)
        return _run_plan(settings, instance, CodeLocation(PROJECT_ROOT / "workspace.yaml"), printer, log_path)


def _run_plan(
    settings: Settings, instance: DagsterInstance, location: CodeLocation, printer: Printer, log_path: Path | None
) -> list[JobOutcome]:
    from assets.models.worker_pool import start_model_workers
    from assets.partitions import (
        ASSET_PARTITION_RANGE_END_TAG,
        as_of_tags,
        configured_partitions,
        keys_spanning,
        partition_key_for,
        range_tags,
    )
    from pipelines.definitions import CADENCES, defs
    from pipelines.jobs import MODEL_STAGE_JOBS, run_plan
    from resources.lake.storage import LakeStorage

    storage = LakeStorage.from_settings(settings)
    by_cadence = configured_partitions(settings)

    outcomes: list[JobOutcome] = []
    shortfall = model_stage_shortfall(settings)
    if shortfall:
        printer(f"⚠ {shortfall}")
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(log_path.open("a"))))
        plan = run_plan(CADENCES)
        names = [name for name, _ in plan]
        # while these run on one core, the model stage's worker server starts on the other
        ahead_of_models = set(names[: names.index("models_job")]) if not shortfall else set()
        for job_name, partitions in plan:
            if shortfall and job_name in MODEL_STAGE_JOBS:
                continue
            job = defs.resolve_job_def(job_name)
            key, tags = None, None
            window = Window(None, settings.end_date)  # unpartitioned, and an ingest's as-of day
            if partitions.startswith("as_of:"):
                # One partition, the end date's, as of the end date: the asset loads the whole history known by
                # then. A run over every partition since the lake's start would make Dagster store one planned and
                # one materialization event per partition and asset (SQLite has no partition subsets): ~50,000
                # single-row commits before the first step, which stalled `nexus run` for more than 10 minutes.
                cadence = partitions.split(":", 1)[1]
                key = partition_key_for(settings.end_date, cadence, by_cadence[cadence])  # type: ignore[arg-type,index]
                tags = as_of_tags(settings.end_date)
            elif partitions == "end":
                key = partition_key_for(settings.end_date, "daily", by_cadence["daily"])
                window = Window(date.fromisoformat(key), date.fromisoformat(key))
            elif partitions == "window":
                first = max(settings.start_date, settings.end_date - timedelta(days=settings.signal_history_days - 1))
                first_key, last_key = keys_spanning(first, settings.end_date, "daily", by_cadence["daily"])
                tags = range_tags(first_key, last_key)
                window = Window(date.fromisoformat(first_key), date.fromisoformat(last_key))
            # a skipped partitioned asset is observed on the run's partition, or the window's last one
            observed = key or (tags or {}).get(ASSET_PARTITION_RANGE_END_TAG)
            outcome = skip_job(job, instance, storage, settings, window, printer, partition_key=observed)
            if outcome is None:
                if job_name in ahead_of_models:
                    start_model_workers()
                outcome = run_job(job, instance, location, printer, partition_key=key, tags=tags)
            outcomes.append(outcome)
            if not outcome.success:
                break
    return outcomes
