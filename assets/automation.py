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

from dagster import AssetKey, AssetSelection, AutomationCondition

# The as-of partitioned ingest groups: their historical partitions stay empty by design (see module docstring).
SNAPSHOT_GROUPS = ("ingest", "silver")


def _gate() -> AutomationCondition:
    """Nothing in progress upstream or here, no unpartitioned input missing, every upstream blocking check passed."""
    return (
        ~AutomationCondition.any_deps_missing().ignore(AssetSelection.groups(*SNAPSHOT_GROUPS))
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & AutomationCondition.all_deps_blocking_checks_passed()
    )


def after_inputs() -> AutomationCondition:
    """Unpartitioned stages (reference, dbt, gold, models): build when missing or when an input was updated."""
    return (
        (AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()).since_last_handled() & _gate()
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
