"""The daemon runs Nexus by itself on a PostgreSQL instance: a publisher release starts ingest, data starts the rest.

A real PostgreSQL server, `dagster-daemon` and `dagster-webserver` on 127.0.0.1. The test only moves the simulated
publisher's clock past Cboe's close; the release sensor launches the Cboe ingest, its Great Expectations suite
passes, and the automation sensor then builds the dbt model that reads the new silver table. Nothing is launched
by the test. The instance's run records and event log (in PostgreSQL) show each stage starting after the one it
reads, and the webserver lists the runs from the same database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from resources.dagster_instance import POSTGRES_URL_ENV, ensure_dagster_home
from resources.settings import PROJECT_ROOT, get_settings
from resources.simulated.clock import PublisherClock
from tests.conftest import free_port
from tests.postgres_server import postgres_server

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
NY = ZoneInfo("America/New_York")
STAGING = "staging/stg_cboe__index_closes"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    workdir = Path(tempfile.mkdtemp(prefix="nexus-pg-"))  # outside pytest's 0700 tmp: the server runs as postgres
    try:
        with postgres_server(workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _env(tmp_path: Path, postgres_url: str) -> dict[str, str]:
    settings = get_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") or k == "NEXUS_REAL_DATA_DIR"}
    env.update(
        NEXUS_LAKE_URI=settings.lake_uri,
        NEXUS_DUCKDB_PATH=str(settings.duckdb_path),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(settings.published_duckdb_path),
        NEXUS_START_DATE="2024-01-02",
        NEXUS_END_DATE="2024-06-28",
        NEXUS_PUBLISHER_CLOCK_FILE=str(tmp_path / "publisher_clock.json"),
        DAGSTER_HOME=str(settings.dagster_home),
        **{POSTGRES_URL_ENV: postgres_url},
    )
    return env


def _wait(what: str, predicate, timeout_s: float, procs: list[subprocess.Popen]):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[0]} exited while waiting for {what}"
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def test_a_release_runs_the_chain_on_a_postgres_instance(tmp_path, monkeypatch, postgres_url):
    env = _env(tmp_path, postgres_url)
    for name in ("NEXUS_START_DATE", "NEXUS_END_DATE", POSTGRES_URL_ENV, "DAGSTER_HOME"):
        monkeypatch.setenv(name, env[name])
    get_settings.cache_clear()
    home = ensure_dagster_home(get_settings())
    assert "postgres" in (home / "dagster.yaml").read_text()
    PublisherClock(Path(env["NEXUS_PUBLISHER_CLOCK_FILE"])).set(datetime(2024, 6, 26, 16, 20, tzinfo=NY))
    port = free_port()
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    webserver = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs = [daemon, webserver]
    try:
        graphql = f"http://127.0.0.1:{port}/graphql"
        _wait("the webserver", lambda: _answers(graphql), 300, procs)
        for sensor_name in ("cboe_release", "nexus_automation"):  # the operator turns automation on
            _start_sensor(graphql, sensor_name)
        with DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"

            def finished(tag: str, value: str):
                runs = instance.get_runs(RunsFilter(tags={tag: value}))
                done = [r for r in runs if r.is_finished]
                return done[0] if done else None

            ingest = _wait("the Cboe release run", lambda: finished("nexus/release", "cboe"), 300, procs)
            assert ingest.status == DagsterRunStatus.SUCCESS, _failure(instance, ingest.run_id)
            assert ingest.tags["nexus/as_of"] == "2024-06-26" and ingest.tags["dagster/partition"] == "2024-06-26"
            built = _wait("the automation run of the dbt model", lambda: _automation_run(instance), 300, procs)
            assert built.status == DagsterRunStatus.SUCCESS, _failure(instance, built.run_id)
            ingest_end = instance.get_run_record_by_id(ingest.run_id).end_time
            built_start = instance.get_run_record_by_id(built.run_id).start_time
            assert built_start > ingest_end, "the model started before the ingest it reads had finished"
            materialized = {
                e.dagster_event.asset_key.to_user_string()
                for e in instance.all_logs(built.run_id)
                if e.dagster_event and e.dagster_event.is_step_materialization
            }
            assert STAGING in materialized
            assert not any(k.startswith(("marts/", "gold/")) for k in materialized), (
                "marts must wait for every silver table they read to pass its suite"
            )
        runs = httpx.post(
            graphql,
            json={"query": "{ runsOrError { ... on Runs { results { runId status } } } }"},
            timeout=60,
        ).json()["data"]["runsOrError"]["results"]
        assert {ingest.run_id, built.run_id} <= {r["runId"] for r in runs}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}
"""


def _answers(graphql: str) -> bool:
    try:
        return httpx.post(graphql, json={"query": "{ version }"}, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _start_sensor(graphql: str, name: str) -> None:
    selector = {"repositoryLocationName": "nexus", "repositoryName": "__repository__", "sensorName": name}
    answer = httpx.post(graphql, json={"query": START_SENSOR, "variables": {"selector": selector}}, timeout=120)
    result = answer.json()["data"]["startSensor"]
    assert result.get("sensorState", {}).get("status") == "RUNNING", result


def _automation_run(instance: DagsterInstance):
    for run in instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"})):
        if run.is_finished and STAGING in {k.to_user_string() for k in run.asset_selection or ()}:
            return run
    return None


def _failure(instance: DagsterInstance, run_id: str) -> str:
    return "\n".join(
        str(e.dagster_event.event_specific_data)[:800]
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.is_failure
    )
