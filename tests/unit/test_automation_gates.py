"""Gates across runs: a failed blocking check keeps everything downstream from being built in later ticks too.

The real code location's conditions are evaluated against an instance holding the events a run would leave
(materializations and check results), the way the daemon evaluates them.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    evaluate_automation_conditions,
)

from assets.partitions import partition_key_for
from pipelines.definitions import defs

NY = ZoneInfo("America/New_York")
MODELS = ["gold/models/regimes", "gold/models/oos_predictions", "gold/models/evaluation"]
DECISION_DAY = ["gold/signals/daily", "gold/personas/wealth_manager", "gold/feeds/delivery_log"]


class Daemon:
    """Ticks of the automation sensor over one instance, keeping its cursor like the daemon does."""

    def __init__(self) -> None:
        self.instance = DagsterInstance.ephemeral()
        self.cursor = None

    def materialize(self, *keys: str, partition: str | None = None) -> None:
        for key in keys:
            self.instance.report_runless_asset_event(
                AssetMaterialization(AssetKey(key.split("/")), partition=partition)
            )

    def check(self, key: str, name: str, passed: bool, partition: str | None = None) -> None:
        self.instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=AssetKey(key.split("/")), check_name=name, passed=passed, blocking=True, partition=partition
            )
        )

    def tick(self) -> dict[str, list[str] | bool]:
        result = evaluate_automation_conditions(defs=defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        requested = {}
        for item in result.results:
            if item.true_subset.size:
                subset = item.true_subset
                keys = sorted(subset.expensively_compute_partition_keys()) if subset.is_partitioned else True
                requested[item.key.to_user_string()] = keys
        return requested


@pytest.fixture(scope="module")
def upstream_built() -> Daemon:
    """Everything the models read exists, and the models' inputs were just rebuilt."""
    daemon = Daemon()
    graph = defs.get_repository_def().asset_graph
    upstream = set()
    for key in [AssetKey(k.split("/")) for k in MODELS]:
        upstream |= graph.get(key).parent_keys
    upstream.add(AssetKey(["gold", "marts", "fct_features_daily"]))
    for key in upstream:
        if not graph.get(key).is_partitioned:
            daemon.materialize(key.to_user_string())
    daemon.tick()
    return daemon


def test_failed_leak_audit_blocks_signals_personas_and_feeds_in_later_runs(upstream_built: Daemon):
    daemon = upstream_built
    # today's decision day: the trading day whose window holds now (on a New York weekend or holiday, the day before)
    today = partition_key_for(datetime.now(NY).date())
    daemon.materialize(*MODELS)
    daemon.check("gold/models/evaluation", "leak_audit", passed=False)
    assert not set(daemon.tick()) & set(DECISION_DAY), "signals built on a model that failed its leak audit"
    # A later run rebuilds part of the models; the audit on evaluation still stands failed.
    daemon.materialize("gold/models/regimes")
    assert not set(daemon.tick()) & set(DECISION_DAY)
    daemon.materialize("gold/models/oos_predictions")
    assert not set(daemon.tick()) & set(DECISION_DAY)
    # The models are rebuilt and the audit passes: today's (New York) decision day is built, stage after stage.
    daemon.materialize("gold/models/evaluation")
    daemon.check("gold/models/evaluation", "leak_audit", passed=True)
    requested = daemon.tick()
    for key in DECISION_DAY:
        assert requested.get(key) == [today], (key, requested)


def test_failed_silver_suite_blocks_the_marts_until_a_new_batch_passes():
    daemon = Daemon()
    daemon.tick()  # automation was on before the data arrived
    silver = "silver/cboe/index_closes"
    staging = "staging/stg_cboe__index_closes"
    suite = next(
        c.name
        for c in defs.get_repository_def().asset_graph.asset_check_keys
        if c.asset_key == AssetKey(silver.split("/")) and c.name.endswith("_suite")
    )
    daemon.materialize(silver, partition="2024-06-27")
    daemon.check(silver, suite, passed=True, partition="2024-06-27")
    assert staging in daemon.tick()
    daemon.materialize(staging)
    daemon.materialize(silver, partition="2024-06-28")
    daemon.check(silver, suite, passed=False, partition="2024-06-28")
    assert staging not in daemon.tick()
    assert staging not in daemon.tick(), "a failed suite must keep blocking on later ticks"
    daemon.materialize(silver, partition="2024-07-01")  # the next trading day
    daemon.check(silver, suite, passed=True, partition="2024-07-01")
    assert staging in daemon.tick()
