"""Publisher days through the daemon, for the daemon test and its bench.

A lake built by `nexus run` as of the day before the first publisher day (the shortest history the walk-forward
models accept, so the daemon only predicts: the model store and fit cache are already there), then the simulated
publisher's clock moved to the evening of each day, and what the instance's event log says about the chain that
followed: which stage read which rebuild of the stage before it.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    EventLogRecord,
    RunsFilter,
)
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from tests.e2e.chain_fixtures import NEXUS

NY = ZoneInfo("America/New_York")
HISTORY_START = date(2019, 7, 1)  # the shortest history the walk-forward models accept (3 years + OOS)
LAKE_AS_OF = date(2024, 6, 21)  # a Friday: the daemon test's lake is built by `nexus run` to here
LAST_DAY = date(2024, 6, 28)  # the daemon test's last publisher day (no holiday that week)
EVENING = clock_time(17, 5)  # New York: EIA (10:30), COT (15:30), Cboe's close (16:15) and FRED (17:00) are out

DAY_MARKER = AssetKey(["silver", "cboe", "index_closes"])
FEATURES = AssetKey(["gold", "marts", "fct_features_daily"])
PREDICTIONS = AssetKey(["gold", "models", "oos_predictions"])
EVALUATION = AssetKey(["gold", "models", "evaluation"])
SIGNALS = AssetKey(["gold", "signals", "daily"])
LEDGER = AssetKey(["gold", "ledger", "positions"])
PERSONA = AssetKey(["gold", "personas", "wealth_manager"])
FEEDS = AssetKey(["gold", "feeds", "delivery_log"])
CHAIN = [DAY_MARKER, FEATURES, PREDICTIONS, EVALUATION, SIGNALS, LEDGER, PERSONA, FEEDS]
"""One read path from the publisher's day to the client feed, each stage reading the one before it."""
PARTITIONED = {DAY_MARKER, SIGNALS, LEDGER, PERSONA, FEEDS}


FAST_INTERVALS = {"NEXUS_RELEASE_SENSOR_INTERVAL_S": "5", "NEXUS_AUTOMATION_INTERVAL_S": "10"}
"""Sensor intervals of the daemon test: a release is seen within seconds of the clock move, and automation looks
again soon after each run (production keeps the settings' defaults, 60 s and 30 s)."""


SMALL_UNIVERSE_DIR = Path(__file__).parent / "small_universe"
SMALL_UNIVERSE = {
    "NEXUS_UNIVERSE_FILE": str(SMALL_UNIVERSE_DIR / "universe.yaml"),
    "NEXUS_CLIENTS_FILE": str(SMALL_UNIVERSE_DIR / "clients.yaml"),
    "NEXUS_EXPOSURES_FILE": str(SMALL_UNIVERSE_DIR / "exposures.yaml"),
}
"""The daemon test's six instruments (one per price source and asset class the personas name) and the clients and
exposures that fit them: every stage runs, on half the shipped universe's rows (tests/e2e/small_universe/)."""


def daemon_env(base: dict[str, str], last_day: date, fast: bool = True) -> dict[str, str]:
    """The settings the daemon and `nexus run` share: partitions from HISTORY_START, three signal days, room for
    the automation sensor's evaluation on the code server on a loaded machine (Dagster's default is 60 s) and, with
    `fast`, short sensor intervals (FAST_INTERVALS)."""
    return (
        base
        | {
            "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": "300",
            "NEXUS_START_DATE": HISTORY_START.isoformat(),
            "NEXUS_END_DATE": last_day.isoformat(),
            "NEXUS_SIGNAL_HISTORY_DAYS": "3",
        }
        | (FAST_INTERVALS if fast else {})
    )


def build_lake(env: dict[str, str], as_of: date, cwd: Path) -> str:
    """`nexus run` from HISTORY_START to `as_of`, as a user builds the lake before turning automation on."""
    result = subprocess.run(
        [NEXUS, "run", "--start", HISTORY_START.isoformat(), "--end", as_of.isoformat()],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "too short" not in result.stdout, result.stdout[-2000:]
    return result.stdout


def evening(day: date) -> datetime:
    return datetime.combine(day, EVENING, tzinfo=NY)


def materialization(
    instance: DagsterInstance, key: AssetKey, partition: str | None = None, before: float | None = None
) -> EventLogRecord | None:
    """The newest materialization of `key` (partition `partition`) stored before `before` (a timestamp)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None, before_timestamp=before),
        limit=1,
    ).records
    return records[0] if records else None


def step_start(instance: DagsterInstance, record: EventLogRecord) -> float:
    """When the step that stored `record` started (the run's STEP_START event for that step)."""
    entry = record.event_log_entry
    starts = [
        e.timestamp
        for e in instance.all_logs(entry.run_id, of_type=DagsterEventType.STEP_START)
        if e.step_key == entry.step_key
    ]
    assert starts, f"no STEP_START for {entry.step_key} in run {entry.run_id}"
    return max(s for s in starts if s <= entry.timestamp)


def day_chain(instance: DagsterInstance, day: date) -> list[tuple[str, str, float, float]]:
    """(asset, run id, step start, materialized) along CHAIN for decision day `day`, walking back from the feed:
    each stage's input is the newest rebuild of the stage before it stored before the stage's step started.

    Asserts that every such input exists and was rebuilt after the publisher's day landed (so no stage read a
    stale input or started before what it reads was done)."""
    partition = day.isoformat()
    landed = materialization(instance, DAY_MARKER, partition)
    assert landed is not None, f"Cboe's as-of partition {partition} never landed"
    record = materialization(instance, FEEDS, partition)
    assert record is not None, f"no feed delivery for {partition}"
    chain: list[tuple[str, str, float, float]] = []
    for parent in reversed(CHAIN[:-1]):
        key = CHAIN[CHAIN.index(parent) + 1]
        started = step_start(instance, record)
        chain.append((key.to_user_string(), record.event_log_entry.run_id, started, record.timestamp))
        before = materialization(instance, parent, partition if parent in PARTITIONED else None, before=started)
        assert before is not None, f"{key.to_user_string()} {partition} started before any {parent.to_user_string()}"
        assert before.timestamp >= landed.timestamp, (
            f"{key.to_user_string()} {partition} read {parent.to_user_string()} as built before day {partition} landed"
        )
        record = before
    chain.append(
        (DAY_MARKER.to_user_string(), landed.event_log_entry.run_id, step_start(instance, landed), landed.timestamp)
    )
    return list(reversed(chain))


def stage_of(run: DagsterRun) -> str:
    """What a run built, by stage: its job for release (ingest) runs, the stages of its assets for automation runs."""
    if run.tags.get("dagster/sensor_name") != "nexus_automation":
        return run.job_name
    stages = set()
    for key in run.asset_selection or ():
        path = key.path
        stages.add("/".join(path[:2]) if path[0] == "gold" else path[0])
    return "automation: " + ", ".join(sorted(stages))


def runs_per_stage(instance: DagsterInstance, after: float) -> Counter[str]:
    """How many runs created after `after` (a timestamp) built each stage."""
    records = instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(after).astimezone()))
    return Counter(stage_of(r.dagster_run) for r in records)


BUILT_FROM_SILVER = ("staging", "intermediate", "marts")
"""dbt's layers: every asset under them reads silver tables, through staging."""
DONE = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
WARNINGS = {"fresh_per_release_calendar", "dbt_source_freshness"}
"""Checks that warn by design (a late publisher); every other check gates what reads its asset. Named here rather
than read from the checks' `blocking` flag, so a gate made non-blocking by mistake fails the daemon test."""


def _check_passed_before(instance: DagsterInstance, check: AssetCheckKey, instant: float) -> bool:
    """Did the newest evaluation of `check` stored before `instant` pass? (False when it never ran before it.)"""
    history = instance.event_log_storage.get_asset_check_execution_history(check, limit=100, status=DONE)
    before = [r for r in history if r.event is not None and r.event.timestamp < instant]
    newest = max(before, key=lambda r: r.event.timestamp, default=None)  # type: ignore[union-attr]
    return newest is not None and newest.status == AssetCheckExecutionRecordStatus.SUCCEEDED


def gate_violations(instance: DagsterInstance, run_id: str, graph: BaseAssetGraph) -> list[str]:
    """Every dbt model or gold mart copy that run `run_id` materialized, built before its inputs passed their gates.

    The claim: a mart starts only after every asset it reads has passed all its gating checks (all but WARNINGS), and
    nothing reads a publisher that was never ingested or whose newest batch failed its gate. So, for each such
    materialization: each input's gating checks have a newest evaluation that passed before the mart's step started
    (before the mart's own materialization when the input was built in the same step: dbt build runs a model only
    after its parents' tests, so there the order of the streamed events is the order of the work), and every silver
    table upstream, at any depth, has a newest suite evaluation that passed before the mart's step started."""
    starts: dict[str, float] = {}
    built: list[tuple[AssetKey, str, float]] = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts.setdefault(entry.step_key, entry.timestamp)
        elif event.is_step_materialization:
            built.append((event.asset_key, entry.step_key, entry.timestamp))
    in_step = {(key, step) for key, step, _ in built}
    blocking: dict[AssetKey, list[AssetCheckKey]] = {}
    for check in graph.asset_check_keys:
        if check.name not in WARNINGS:
            blocking.setdefault(check.asset_key, []).append(check)
    violations = []
    for key, step, materialized in built:
        if key.path[0] not in BUILT_FROM_SILVER and key.path[:2] != ["gold", "marts"]:
            continue
        started = starts[step]
        for parent in graph.get(key).parent_keys:
            before = materialized if (parent, step) in in_step else started
            for check in blocking.get(parent, []):
                if not _check_passed_before(instance, check, before):
                    violations.append(f"{key.to_user_string()} built before {check.to_user_string()} passed")
        for upstream in graph.upstream_key_iterator(key):
            if upstream.path[0] != "silver":
                continue
            for check in blocking.get(upstream, []):
                if not _check_passed_before(instance, check, started):
                    violations.append(f"{key.to_user_string()} read {upstream.to_user_string()} ungated ({check.name})")
    return violations
