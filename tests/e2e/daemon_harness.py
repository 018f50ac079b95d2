"""What the daemon tests share to watch a live instance: waiting on the services, the release
and automation runs, the silver table's version and the automation sensor's ticks
(the alert receiver is tests/webhook_receiver.py).

Used by tests/e2e/test_daemon_postgres.py (the gate, in `make test`; PostgreSQL from the `postgres_url` fixture) and
tests/e2e/scenario_daemon_three_days.py (the publisher days through signals, personas and feeds, run by hand: over the
suite's budget; its PostgreSQL server starts with its lake, tests/e2e/early_runs.py::DaemonLake).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

from resources.lake.delta import open_table
from resources.lake.storage import LakeStorage
from resources.releases import STREAMS
from resources.sources.cboe.spec import INDEX_CLOSES

STAGING = "staging/stg_cboe__index_closes"  # the dbt model that reads Cboe's silver table


def wait_for(
    what: str, predicate: Callable[[], Any], timeout_s: float, procs: list[subprocess.Popen], poll_s: float = 2
) -> Any:
    """The predicate's first truthy value; fails at once if a service exits, or after `timeout_s`."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[0]} exited while waiting for {what}"
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def release_run(instance: DagsterInstance, day: date, stream: str = "cboe"):
    """The finished run the stream's release sensor launched for publisher day `day`, if any."""
    runs = instance.get_runs(RunsFilter(tags={"nexus/release": stream, "nexus/as_of": day.isoformat()}))
    done = [r for r in runs if r.is_finished]
    return done[0] if done else None


def automation_runs(instance: DagsterInstance) -> list:
    """Finished automation runs that built the dbt model reading Cboe's silver table, oldest first."""
    runs = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"}))
    built = [r for r in runs if r.is_finished and STAGING in {k.to_user_string() for k in r.asset_selection or ()}]
    return list(reversed(built))


def assert_built_after(instance: DagsterInstance, built, ingest) -> set[str]:
    """`built` succeeded, started after `ingest` ended and rebuilt the staging model; what it materialized."""
    assert built.status == DagsterRunStatus.SUCCESS, run_failure(instance, built.run_id)
    ingest_end = instance.get_run_record_by_id(ingest.run_id).end_time
    built_start = instance.get_run_record_by_id(built.run_id).start_time
    assert built_start > ingest_end, "the model started before the ingest it reads had finished"
    materialized = {
        e.dagster_event.asset_key.to_user_string()
        for e in instance.all_logs(built.run_id)
        if e.dagster_event and e.dagster_event.is_step_materialization
    }
    assert STAGING in materialized
    return materialized


def settled_after_releases(instance: DagsterInstance, graphql: str) -> bool:
    """No release or automation run queued or running, and the automation sensor ticked after the last release
    run ended: what the daemon does with the current batch has been done."""
    runs = instance.get_run_records(RunsFilter(tags={"nexus/release": list(STREAMS)}))
    if not runs or any(not r.dagster_run.is_finished for r in runs):
        return False
    automation = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"}))
    if any(not r.is_finished for r in automation):
        return False
    return ticked_after(graphql, max(r.end_time or 0 for r in runs))


def built_from(instance: DagsterInstance, key: AssetKey, graph: BaseAssetGraph) -> list[str]:
    """Every asset an automation run materialized that reads `key` at any depth (run id: asset)."""
    downstream = {k for k in graph.get_all_asset_keys() if key in set(graph.upstream_key_iterator(k))}
    built = []
    for run in instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"})):
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            if entry.dagster_event.asset_key in downstream:
                built.append(f"{run.run_id}: {entry.dagster_event.asset_key.to_user_string()}")
    return built


def silver_version(storage: LakeStorage) -> int:
    table = open_table(storage, INDEX_CLOSES)
    assert table is not None
    return table.version()


TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { ... on Sensor { sensorState { ticks(limit: 5) { timestamp status } } } }
}
"""


def ticked_after(graphql: str, instant: float) -> bool:
    """Has the automation sensor finished an evaluation that started after `instant`?"""
    selector = {"repositoryLocationName": "nexus", "repositoryName": "__repository__", "sensorName": "nexus_automation"}
    answer = httpx.post(graphql, json={"query": TICKS, "variables": {"selector": selector}}, timeout=60).json()
    ticks = answer["data"]["sensorOrError"]["sensorState"]["ticks"]
    return any(t["timestamp"] > instant and t["status"] in ("SKIPPED", "SUCCESS") for t in ticks)


def answers(graphql: str) -> bool:
    """Does the webserver answer GraphQL yet?"""
    try:
        return httpx.post(graphql, json={"query": "{ version }"}, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def run_failure(instance: DagsterInstance, run_id: str) -> str:
    """The run's failure events, for an assertion message."""
    return "\n".join(
        str(e.dagster_event.event_specific_data)[:800]
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.is_failure
    )
