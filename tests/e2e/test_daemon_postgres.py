"""The daemon runs Nexus by itself on a PostgreSQL instance, and a failed quality gate holds the chain.

A real PostgreSQL server, `dagster-daemon` and `dagster-webserver` on 127.0.0.1, automation on, the simulated
publisher. The test only moves the publisher's clock past Cboe's close on three business days; nothing is launched by
the test. Tuesday: the release sensor launches the Cboe ingest, its suite passes, automation builds the dbt model
that reads the table. Wednesday: the publisher misprints a VIX close; the blocking suite fails on the staged rows, so
silver keeps its Delta version, the batch is in quarantine naming the expectation, an alert reaches the local
receiver and automation builds nothing. Thursday: the publisher has corrected the value and the chain resumes. The
run records and event log (in PostgreSQL) show each stage starting after the one it reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from pipelines.definitions import defs
from resources.dagster_instance import POSTGRES_URL_ENV, ensure_dagster_home
from resources.lake.delta import open_table, read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.simulated.clock import PublisherClock
from resources.simulated.misprints import Misprint, write_misprints
from resources.sources.cboe.spec import INDEX_CLOSES
from tests.conftest import free_port
from tests.e2e.daemon_days import FAST_INTERVALS, gate_violations
from tests.e2e.dagster_services import daemon_and_webserver, start_sensor
from tests.postgres_server import postgres_server

pytestmark = pytest.mark.slow
NY = ZoneInfo("America/New_York")
STAGING = "staging/stg_cboe__index_closes"
TUE, WED, THU = date(2024, 6, 25), date(2024, 6, 26), date(2024, 6, 27)
CBOE_RELEASED = clock_time(16, 20)  # New York, after Cboe's 16:15 close


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
        **FAST_INTERVALS,
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


def test_releases_run_the_chain_and_a_failed_gate_holds_it_on_a_postgres_instance(tmp_path, monkeypatch, postgres_url):
    env = _env(tmp_path, postgres_url)
    misprints = tmp_path / "misprints.json"
    # Wednesday's VIX close is misprinted in the files served Wednesday; Thursday's files show the true value.
    write_misprints(
        misprints,
        [
            Misprint(
                source="cboe", series="VIX", observed=WED, column="CLOSE", value=500.0, published=WED, corrected=THU
            )
        ],
    )
    alerts = _Receiver()
    env.update(NEXUS_PUBLISHER_MISPRINTS_FILE=str(misprints), NEXUS_ALERT_WEBHOOK_URL=alerts.url)
    for name in ("NEXUS_START_DATE", "NEXUS_END_DATE", POSTGRES_URL_ENV, "DAGSTER_HOME"):
        monkeypatch.setenv(name, env[name])
    home = ensure_dagster_home(get_settings())
    assert "postgres" in (home / "dagster.yaml").read_text()
    clock = PublisherClock(Path(env["NEXUS_PUBLISHER_CLOCK_FILE"]))
    clock.set(datetime.combine(TUE, CBOE_RELEASED, tzinfo=NY))
    storage = LakeStorage.from_settings(get_settings())
    port = free_port()
    try:
        with daemon_and_webserver(env, port, tmp_path / "daemon.log") as procs:
            graphql = f"http://127.0.0.1:{port}/graphql"
            _wait("the webserver", lambda: _answers(graphql), 300, procs)
            for sensor_name in ("cboe_release", "nexus_automation"):  # the operator turns automation on
                started = start_sensor(graphql, sensor_name)
                assert started.get("sensorState", {}).get("status") == "RUNNING", started
            with DagsterInstance.from_config(str(home)) as instance:
                assert type(instance.run_storage).__name__ == "PostgresRunStorage"

                # Tuesday: the release starts the ingest, its suite passes, automation builds the model that reads it.
                ingest = _wait("Tuesday's Cboe run", lambda: _release_run(instance, TUE), 300, procs)
                assert ingest.status == DagsterRunStatus.SUCCESS, _failure(instance, ingest.run_id)
                assert ingest.tags["dagster/partition"] == TUE.isoformat()
                built = _wait("the automation run of the dbt model", lambda: _automation_runs(instance), 300, procs)[0]
                _assert_built_after(instance, built, ingest)
                _assert_gated(instance, built)  # marts wait for every input to pass its blocking checks
                version = _silver_version(storage)

                # Wednesday: the misprint fails the blocking suite before anything is committed.
                clock.set(datetime.combine(WED, CBOE_RELEASED, tzinfo=NY))
                failed = _wait("Wednesday's Cboe run", lambda: _release_run(instance, WED), 300, procs)
                assert failed.status == DagsterRunStatus.FAILURE
                assert _silver_version(storage) == version, "a failed gate must leave silver at its previous version"
                held = read_table(storage, QUARANTINE).to_pandas().query("run_id == @failed.run_id")
                assert set(held.source) == {"cboe"} and set(held.error_type) == {"QualityGateError"}
                assert held.reason.str.contains("expect_column_values_to_be_between").all(), held.reason.tolist()
                alert = _wait(
                    "the alert", lambda: [a for a in alerts.received if failed.run_id in a["text"]], 180, procs
                )
                assert "expect_column_values_to_be_between" in alert[0]["text"]
                failed_end = instance.get_run_record_by_id(failed.run_id).end_time
                _wait("an automation tick after the failure", lambda: _ticked_after(graphql, failed_end), 180, procs)
                assert len(_automation_runs(instance)) == 1, "nothing downstream may run from a failed gate"

                # Thursday: the publisher has corrected the value; the chain resumes by itself.
                clock.set(datetime.combine(THU, CBOE_RELEASED, tzinfo=NY))
                resumed = _wait("Thursday's Cboe run", lambda: _release_run(instance, THU), 300, procs)
                assert resumed.status == DagsterRunStatus.SUCCESS, _failure(instance, resumed.run_id)
                assert _silver_version(storage) > version
                again = _wait("the resumed model run", lambda: _automation_runs(instance)[1:], 300, procs)[0]
                materialized = _assert_built_after(instance, again, resumed)
                _assert_gated(instance, again)
                # Cboe-only marts may follow now; a mart that reads the other (never ingested) publishers may not
                assert not {"marts/fct_features_daily", "gold/marts/fct_features_daily"} & materialized
            runs = httpx.post(
                graphql,
                json={"query": "{ runsOrError { ... on Runs { results { runId status } } } }"},
                timeout=60,
            ).json()["data"]["runsOrError"]["results"]
            assert {ingest.run_id, built.run_id, failed.run_id, again.run_id} <= {r["runId"] for r in runs}
    finally:
        alerts.close()


def _release_run(instance: DagsterInstance, day: date):
    runs = instance.get_runs(RunsFilter(tags={"nexus/release": "cboe", "nexus/as_of": day.isoformat()}))
    done = [r for r in runs if r.is_finished]
    return done[0] if done else None


def _automation_runs(instance: DagsterInstance) -> list:
    """Finished automation runs that built the dbt model reading Cboe's silver table, oldest first."""
    runs = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"}))
    built = [r for r in runs if r.is_finished and STAGING in {k.to_user_string() for k in r.asset_selection or ()}]
    return list(reversed(built))


def _assert_built_after(instance: DagsterInstance, built, ingest) -> set[str]:
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
    return materialized


def _assert_gated(instance: DagsterInstance, run) -> None:
    """No mart of `run` started before what it reads passed its blocking checks, and none read a publisher never
    ingested or whose newest batch failed its gate (tests/e2e/daemon_days.py::gate_violations)."""
    violations = gate_violations(instance, run.run_id, defs.get_repository_def().asset_graph)
    assert not violations, violations


def _silver_version(storage: LakeStorage) -> int:
    table = open_table(storage, INDEX_CLOSES)
    assert table is not None
    return table.version()


TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { ... on Sensor { sensorState { ticks(limit: 5) { timestamp status } } } }
}
"""


def _ticked_after(graphql: str, instant: float) -> bool:
    """Has the automation sensor finished an evaluation that started after `instant`?"""
    selector = {"repositoryLocationName": "nexus", "repositoryName": "__repository__", "sensorName": "nexus_automation"}
    answer = httpx.post(graphql, json={"query": TICKS, "variables": {"selector": selector}}, timeout=60).json()
    ticks = answer["data"]["sensorOrError"]["sensorState"]["ticks"]
    return any(t["timestamp"] > instant and t["status"] in ("SKIPPED", "SUCCESS") for t in ticks)


class _Receiver:
    """An alert webhook receiver on 127.0.0.1 recording every JSON body."""

    def __init__(self) -> None:
        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/hooksecret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _answers(graphql: str) -> bool:
    try:
        return httpx.post(graphql, json={"query": "{ version }"}, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _failure(instance: DagsterInstance, run_id: str) -> str:
    return "\n".join(
        str(e.dagster_event.event_specific_data)[:800]
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.is_failure
    )
