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

from dagster import AssetSelection, AutomationCondition

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


def decision_day_after_inputs() -> AutomationCondition:
    """Daily decision-day stages (signals, personas, feeds): today's New York partition, once its inputs are new.

    A new day alone does not start them (no `newly_missing`): day D waits for D's ingest to reach the models.
    """
    return (
        AutomationCondition.in_latest_time_window()
        & AutomationCondition.any_deps_updated().since_last_handled()
        & _gate()
    ).with_label("decision_day_after_inputs_passed_checks")
