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

import os
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.definitions import defs
from resources.dagster_event_log import BATCH_SIZE_ENV
from resources.dagster_instance import POSTGRES_URL_ENV, ensure_dagster_home
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.simulated.clock import PublisherClock
from resources.simulated.misprints import Misprint, write_misprints
from tests.conftest import free_port
from tests.e2e.daemon_days import FAST_INTERVALS, gate_violations
from tests.e2e.daemon_harness import (
    answers,
    assert_built_after,
    automation_runs,
    release_run,
    run_failure,
    silver_version,
    ticked_after,
    wait_for,
)
from tests.e2e.dagster_services import daemon_and_webserver, start_sensor
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow
NY = ZoneInfo("America/New_York")
TUE, WED, THU = date(2024, 6, 25), date(2024, 6, 26), date(2024, 6, 27)
CBOE_RELEASED = clock_time(16, 20)  # New York, after Cboe's 16:15 close


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
    # As in the production image: Dagster's PostgreSQL event log, sent events one by one (this test process may
    # have opened a SQLite home, whose event log asks for batches in its environment).
    env.pop(BATCH_SIZE_ENV, None)
    return env


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
    alerts = WebhookReceiver()
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
            wait_for("the webserver", lambda: answers(graphql), 300, procs)
            for sensor_name in ("cboe_release", "nexus_automation"):  # the operator turns automation on
                started = start_sensor(graphql, sensor_name)
                assert started.get("sensorState", {}).get("status") == "RUNNING", started
            with DagsterInstance.from_config(str(home)) as instance:
                assert type(instance.run_storage).__name__ == "PostgresRunStorage"

                # Tuesday: the release starts the ingest, its suite passes, automation builds the model that reads it.
                ingest = wait_for("Tuesday's Cboe run", lambda: release_run(instance, TUE), 300, procs)
                assert ingest.status == DagsterRunStatus.SUCCESS, run_failure(instance, ingest.run_id)
                assert ingest.tags["dagster/partition"] == TUE.isoformat()
                built = wait_for("the automation run of the dbt model", lambda: automation_runs(instance), 300, procs)[
                    0
                ]
                assert_built_after(instance, built, ingest)
                _assert_gated(instance, built)  # marts wait for every input to pass its blocking checks
                version = silver_version(storage)

                # Wednesday: the misprint fails the blocking suite before anything is committed.
                clock.set(datetime.combine(WED, CBOE_RELEASED, tzinfo=NY))
                failed = wait_for("Wednesday's Cboe run", lambda: release_run(instance, WED), 300, procs)
                assert failed.status == DagsterRunStatus.FAILURE
                assert silver_version(storage) == version, "a failed gate must leave silver at its previous version"
                held = read_table(storage, QUARANTINE).to_pandas().query("run_id == @failed.run_id")
                assert set(held.source) == {"cboe"} and set(held.error_type) == {"QualityGateError"}
                assert held.reason.str.contains("expect_column_values_to_be_between").all(), held.reason.tolist()
                alert = wait_for(
                    "the alert", lambda: [a for a in alerts.received if failed.run_id in a["text"]], 180, procs
                )
                assert "expect_column_values_to_be_between" in alert[0]["text"]
                failed_end = instance.get_run_record_by_id(failed.run_id).end_time
                wait_for("an automation tick after the failure", lambda: ticked_after(graphql, failed_end), 180, procs)
                assert len(automation_runs(instance)) == 1, "nothing downstream may run from a failed gate"

                # Thursday: the publisher has corrected the value; the chain resumes by itself.
                clock.set(datetime.combine(THU, CBOE_RELEASED, tzinfo=NY))
                resumed = wait_for("Thursday's Cboe run", lambda: release_run(instance, THU), 300, procs)
                assert resumed.status == DagsterRunStatus.SUCCESS, run_failure(instance, resumed.run_id)
                assert silver_version(storage) > version
                again = wait_for("the resumed model run", lambda: automation_runs(instance)[1:], 300, procs)[0]
                materialized = assert_built_after(instance, again, resumed)
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


def _assert_gated(instance: DagsterInstance, run) -> None:
    """No mart of `run` started before what it reads passed its blocking checks, and none read a publisher never
    ingested or whose newest batch failed its gate (tests/e2e/daemon_days.py::gate_violations)."""
    violations = gate_violations(instance, run.run_id, defs.get_repository_def().asset_graph)
    assert not violations, violations
