"""Automation conditions that chain the stages by data, not by the clock.

Ingest runs on the publishers' release sensors (pipelines/sensors.py); every later stage carries one of these
conditions, so the daemon starts it once what it reads is new and every blocking check on what it reads has passed
(Great Expectations on silver, dbt tests on marts, the leak audit on the models). The gate reads the checks' latest
results from the instance, so a failed check blocks downstream in every later tick and run, not only inside the run
that failed; it lifts once the upstream asset is rebuilt and its checks pass.

Ingest assets are as-of snapshots (one partition holds the whole history as known on that day), so most of their
partitions are never materialized on purpose: `missing` is not asked of them, only of unpartitioned inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationResult,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    PreviewWarning,
    RunsFilter,
)
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.definitions.declarative_automation.automation_context import AutomationContext
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from assets.partitions import AS_OF_TAG
from resources.releases import STREAMS, latest_release
from resources.settings import Settings
from resources.simulated.clock import publisher_now

# The as-of partitioned ingest groups: their historical partitions stay empty by design (see module docstring).
SNAPSHOT_GROUPS = ("ingest", "silver")


RELEASE_TAG = "nexus/release"
"""The tag a release sensor puts on the ingest runs of one release (value: the stream, pipelines/sensors.py)."""
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def release_sensor_name(stream: str) -> str:
    return f"{stream}_release"


def releases_unsettled(instance: DagsterInstance, now: datetime, streams: list[str]) -> str | None:
    """Why the publishers' current release batch is still landing, or None once it has landed.

    It has landed when no release run is queued or running and, for each of `streams` (those whose release sensor
    is on), the newest release due by the publishers' clock `now` has a finished ingest run (succeeded or failed:
    a failed gate is held by the blocking checks, not here)."""
    if instance.get_run_records(RunsFilter(statuses=IN_FLIGHT, tags={RELEASE_TAG: list(STREAMS)}), limit=1):
        return "a release ingest is queued or running"
    for stream in streams:
        release = latest_release(stream, now)
        if release is None:
            continue
        tags = {RELEASE_TAG: stream, AS_OF_TAG: release.as_of.isoformat()}
        if not instance.get_run_records(
            RunsFilter(tags=tags, statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE]), limit=1
        ):
            return f"{stream}'s release of {release.at.isoformat()} has not been ingested yet"
    return None


def streams_switched_on(instance: DagsterInstance) -> list[str]:
    """The release streams whose sensor is running on this instance (none on one without schedule storage)."""
    if instance.schedule_storage is None:
        return []
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    running = {s.instigator_name for s in states if s.status == InstigatorStatus.RUNNING}
    return [stream for stream in STREAMS if release_sensor_name(stream) in running]


class ReleaseBatchLanded(AutomationCondition):
    """True once the publishers' current release batch has landed (`releases_unsettled`), so the stages after
    ingest start once per batch instead of once per silver table as each ingest lands. Arbitrary Python: the
    automation sensor evaluates it on the code server. Evaluated once per tick and shared by every asset.

    The decorators declare it without a clock (nothing reads settings at import); the code location's build binds
    the publishers' clock of its settings (`bind_publisher_clock`), as it binds the partitions."""

    _cache: ClassVar[dict[tuple[int, datetime, int], bool]] = {}

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock

    @property
    def name(self) -> str:
        return "release_batch_landed"

    @property
    def description(self) -> str:
        return "no release ingest in flight and the newest due release of each switched-on stream ingested"

    def evaluate(self, context: AutomationContext) -> AutomationResult:  # type: ignore[override]
        if self.clock is None:
            raise RuntimeError(
                "release_batch_landed has no publishers' clock: evaluate the definitions that "
                "pipelines.definitions.build_definitions(settings) returns (bind_publisher_clock)"
            )
        instance = context.asset_graph_view.instance
        key = (id(instance), context.evaluation_time, id(self))
        if key not in self._cache:
            self._cache.clear()
            reason = releases_unsettled(instance, self.clock(), streams_switched_on(instance))
            self._cache[key] = reason is None
        true = context.candidate_subset if self._cache[key] else context.get_empty_subset()
        return AutomationResult(context, true)


def bind_publisher_clock(definitions: Definitions, settings: Settings) -> Definitions:
    """`definitions` with every ReleaseBatchLanded reading the publishers' clock of `settings` (one shared
    condition, so it is still evaluated once per tick)."""
    landed = ReleaseBatchLanded(lambda: publisher_now(settings))

    def bound(spec: AssetSpec) -> AssetSpec:
        condition = spec.automation_condition
        if condition is None:
            return spec
        return spec.replace_attributes(automation_condition=condition.replace(landed.name, landed))

    with warnings.catch_warnings():  # the public map_asset_specs calls its preview twin, which warns on every build
        warnings.simplefilter("ignore", PreviewWarning)
        return definitions.map_asset_specs(func=bound)


def silver_gates_upstream(graph: BaseAssetGraph, key: AssetKey) -> list[AssetCheckKey]:
    """The blocking checks (the publishers' quality suites) of every silver table upstream of `key`, at any depth."""
    silver = [k for k in graph.upstream_key_iterator(key) if k.path[0] == "silver"]
    return sorted(
        (c for c in graph.get_check_keys_for_assets(silver) if graph.get(c).blocking), key=lambda c: c.to_user_string()
    )


def _failed(instance: DagsterInstance, record: AssetCheckExecutionRecord) -> bool:
    """Did this check evaluation fail, or did its run fail before evaluating it (it then stays PLANNED)?"""
    if record.status == AssetCheckExecutionRecordStatus.FAILED:
        return True
    if record.status != AssetCheckExecutionRecordStatus.PLANNED:
        return False
    run = instance.get_run_by_id(record.run_id)
    return run is not None and run.status == DagsterRunStatus.FAILURE


class NoFailedSilverGateUpstream(AutomationCondition):
    """True unless the newest evaluation of a blocking suite on a silver table upstream of the asset, at any depth,
    failed.

    The other gates see direct inputs only: on a day a publisher's batch fails its suite, a mart two layers down
    would otherwise be rebuilt from the other publishers' new rows and the failed publisher's last good version,
    a mix of batches no run of `nexus run` would produce. This holds marts, models and decision days for that
    batch until the publisher's next batch passes (the newest evaluation, whatever its partition). Arbitrary
    Python like ReleaseBatchLanded: the check results are read once per tick, in one query."""

    _cache: ClassVar[dict[tuple[int, datetime], dict[AssetCheckKey, bool]]] = {}
    _upstream: ClassVar[dict[tuple[int, AssetKey], list[AssetCheckKey]]] = {}

    @property
    def name(self) -> str:
        return "no_failed_silver_gate_upstream"

    @property
    def description(self) -> str:
        return "the newest blocking suite of every silver table upstream, at any depth, did not fail"

    def evaluate(self, context: AutomationContext) -> AutomationResult:  # type: ignore[override]
        graph = context.asset_graph
        instance = context.asset_graph_view.instance
        tick = (id(instance), context.evaluation_time)
        if tick not in self._cache:
            self._cache.clear()
            gates = [c for c in graph.asset_check_keys if c.asset_key.path[0] == "silver" and graph.get(c).blocking]
            newest = instance.event_log_storage.get_latest_asset_check_execution_by_key(gates)
            self._cache[tick] = {check: _failed(instance, record) for check, record in newest.items()}
        failed = self._cache[tick]
        upstream = (id(graph), context.key)
        if upstream not in self._upstream:
            if len(self._upstream) > 10_000:  # a code location reloaded many times in one process
                self._upstream.clear()
            self._upstream[upstream] = silver_gates_upstream(graph, context.key)
        held = any(failed.get(check, False) for check in self._upstream[upstream])
        return AutomationResult(context, context.get_empty_subset() if held else context.candidate_subset)


def _checks_passed_or_built_in_this_run() -> AutomationCondition:
    """Every input's blocking checks passed, or the input is built in the same run (its checks then run in that
    run, and a failing blocking check stops this asset's step there). Without the second half each dbt layer
    waits for the tick after its parents' tests passed: one run per layer instead of one for the whole stage."""
    return AutomationCondition.all_deps_match(
        AutomationCondition.all_checks_match(AutomationCondition.check_passed(), blocking_only=True)
        | AutomationCondition.will_be_requested()
    ).with_label("all_deps_blocking_checks_passed_or_built_in_this_run")


def _gate(*, same_run: bool = False) -> AutomationCondition:
    """Nothing in progress upstream or here, no unpartitioned input missing, every input's blocking checks passed
    (with `same_run`: or the input is built in the same run), and no silver suite upstream at any depth failed."""
    checks = (
        _checks_passed_or_built_in_this_run() if same_run else AutomationCondition.all_deps_blocking_checks_passed()
    )
    return (
        ~AutomationCondition.any_deps_missing().ignore(AssetSelection.groups(*SNAPSHOT_GROUPS))
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & checks
        & NoFailedSilverGateUpstream()
    )


def after_inputs() -> AutomationCondition:
    """Unpartitioned stages (reference, dbt, gold, models): build when missing or when an input was updated, once
    the release batch has landed, in one run with the inputs built this tick (one run per batch through the marts
    and models, not one per silver table and dbt layer). Decision days keep the strict gate: they start only after
    the models' leak audit has passed in a finished run."""
    return (
        (AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()).since_last_handled()
        & _gate(same_run=True)
        & ReleaseBatchLanded()
    ).with_label("after_inputs_passed_checks")


DAY_MARKER = AssetKey(["silver", "cboe", "index_closes"])
"""Cboe's daily closes, as of ingest partition D: the publisher's day D has landed (Cboe closes every trading day)."""


def decision_day_landed() -> AutomationCondition:
    """The publisher's day D is in the lake: the day marker's as-of partition D is materialized (identity mapping)."""
    return (
        AutomationCondition.any_deps_match(~AutomationCondition.missing())
        .allow(AssetSelection.keys(DAY_MARKER))
        .with_label("publisher_day_landed")
    )


def decision_day_after_inputs() -> AutomationCondition:
    """Daily decision-day stages (signals, ledger, personas, feeds): day D, keyed to the publisher's clock.

    Partition D is due once the publisher's day D has landed, D is still missing, and what the stage reads was
    rebuilt after D landed (the day marker's own landing is ignored as a trigger and resets it, so a Cboe landing
    alone does not start D before the marts and models have caught up with it). The wall clock plays no part, so
    a publisher in 2024 drives 2024's days; historical days whose as-of ingest never ran are never candidates.
    """
    landed_now = AutomationCondition.any_deps_match(AutomationCondition.newly_updated()).allow(
        AssetSelection.keys(DAY_MARKER)
    )
    handled = (
        AutomationCondition.newly_requested()
        | AutomationCondition.newly_updated()
        | AutomationCondition.initial_evaluation()
    )
    inputs_rebuilt = (
        AutomationCondition.any_deps_updated()
        .ignore(AssetSelection.keys(DAY_MARKER))
        .since(landed_now | handled)
        .with_label("inputs_rebuilt_since_day_landed")
    )
    return (decision_day_landed() & AutomationCondition.missing() & inputs_rebuilt & _gate()).with_label(
        "decision_day_after_inputs_passed_checks"
    )
