"""The daemon runs Nexus by itself on a PostgreSQL instance, publisher day after publisher day, and a failed quality
gate holds the chain until the publisher corrects it.

A real PostgreSQL server, `dagster-daemon` and `dagster-webserver` on 127.0.0.1, every release sensor and
automation on, the simulated publisher. The lake is built by `nexus run` as of Friday 21 June 2024 (the shortest
history the models accept, so the daemon only predicts), as an early run of the session on the same PostgreSQL
instance (tests/e2e/early_runs.py::DaemonLake). Then the test only moves the publisher's clock to the evening of
each day; nothing is launched by the test. Monday 24: the publisher misprints a VIX close; the blocking suite fails
on the staged rows, so silver keeps its Delta version, the batch is in quarantine naming the expectation, an alert
reaches the local receiver and, once the day's batch has settled, no automation run has built anything reading
Cboe's table at any depth (the other publishers' own marts may follow). Tuesday 25: the publisher has corrected
the value and the chain resumes by itself, through signals, personas and feeds. Wednesday 26 (EIA's weekly
petroleum report),
then Friday 28 (Thursday's and Friday's releases, COT's on Friday, in one clock move): the lake reaches each day's
signals, personas and client deliveries. The instance's event log shows each stage starting after the stage it
reads was rebuilt for that day (daemon_days.day_chain), and no mart of any automation run starting before what it
reads passed its gating checks (daemon_days.gate_violations). `-s` prints each clock move's time to the feed
delivery and its runs by stage.

The lake uses the small test universe (daemon_days.SMALL_UNIVERSE). `make test` runs it as a pytest session of
its own beside the other integration and e2e tests (tests/e2e/test_daemon_three_days.py asserts it passed); by
hand: `.venv/bin/pytest -s tests/e2e/scenario_daemon_three_days.py`. Measured idle with the daemon and webserver
sharing one code server: 661 s wall, 644 CPU s.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from pipelines.definitions import defs
from resources.dagster_instance import ensure_dagster_home
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.storage import LakeStorage
from resources.releases import STREAMS
from resources.settings import get_settings
from resources.simulated.clock import PublisherClock
from resources.simulated.misprints import Misprint, write_misprints
from tests.conftest import free_port
from tests.e2e.daemon_days import (
    DAY_MARKER,
    LAKE_AS_OF,
    SIGNALS,
    day_chain,
    evening,
    gate_violations,
    materialization,
    runs_per_stage,
)
from tests.e2e.daemon_days import FEEDS as FEEDS_KEY
from tests.e2e.daemon_harness import (
    answers,
    assert_built_after,
    automation_runs,
    built_from,
    release_run,
    run_failure,
    settled_after_releases,
    silver_version,
    ticked_after,
    wait_for,
)
from tests.e2e.dagster_services import daemon_and_webserver, group_members, start_sensor
from tests.e2e.early_runs import Finished
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow
MON, TUE, WED, THU, FRI = (date(2024, 6, d) for d in (24, 25, 26, 27, 28))  # no holiday that week
WAIT_S = 2400  # per stage of the scenario; runs queue behind the one-writer limits on a loaded machine


def test_publisher_days_run_to_client_feeds_and_a_failed_gate_holds_the_chain_on_postgres(
    daemon_lake: Finished, monkeypatch
):
    assert daemon_lake.returncode == 0, daemon_lake.stdout[-4000:] + daemon_lake.stderr[-4000:]
    assert "too short" not in daemon_lake.stdout, daemon_lake.stdout[-2000:]
    assert LAKE_AS_OF < MON
    alerts = WebhookReceiver()
    env = daemon_lake.env | {"NEXUS_ALERT_WEBHOOK_URL": alerts.url}
    for name, value in env.items():  # this process reads the instance and the lake the daemon writes
        if name.startswith("NEXUS_") or name == "DAGSTER_HOME":
            monkeypatch.setenv(name, value)
    # Monday's VIX close is misprinted in the files served Monday; Tuesday's files show the true value.
    write_misprints(
        Path(env["NEXUS_PUBLISHER_MISPRINTS_FILE"]),
        [
            Misprint(
                source="cboe", series="VIX", observed=MON, column="CLOSE", value=500.0, published=MON, corrected=TUE
            )
        ],
    )
    home = ensure_dagster_home(get_settings())
    assert "postgres" in (home / "dagster.yaml").read_text()
    clock = PublisherClock(Path(env["NEXUS_PUBLISHER_CLOCK_FILE"]))
    clock.set(evening(MON))  # before the sensors start: their first tick takes each stream's newest release
    storage = LakeStorage.from_settings(get_settings())
    port = free_port()
    try:
        with daemon_and_webserver(env, port, daemon_lake.root / "daemon.log") as procs:
            graphql = f"http://127.0.0.1:{port}/graphql"
            wait_for("the webserver", lambda: answers(graphql), 300, procs)
            for sensor_name in [*(f"{s}_release" for s in STREAMS), "nexus_automation"]:  # the operator's switches
                started = start_sensor(graphql, sensor_name)
                assert started.get("sensorState", {}).get("status") == "RUNNING", started
            graph = defs.get_repository_def().asset_graph
            with DagsterInstance.from_config(str(home)) as instance:
                assert type(instance.run_storage).__name__ == "PostgresRunStorage"
                version = silver_version(storage)

                # Monday: the misprint fails the blocking suite before anything is committed.
                failed = wait_for("Monday's Cboe run", lambda: release_run(instance, MON), WAIT_S, procs)
                assert failed.status == DagsterRunStatus.FAILURE
                assert failed.tags["dagster/partition"] == MON.isoformat()
                assert silver_version(storage) == version, "a failed gate must leave silver at its previous version"
                held = read_table(storage, QUARANTINE).to_pandas().query("run_id == @failed.run_id")
                assert set(held.source) == {"cboe"} and set(held.error_type) == {"QualityGateError"}
                assert held.reason.str.contains("expect_column_values_to_be_between").all(), held.reason.tolist()
                alert = wait_for(
                    "the alert", lambda: [a for a in alerts.received if failed.run_id in a["text"]], 300, procs
                )
                assert "expect_column_values_to_be_between" in alert[0]["text"]
                failed_end = instance.get_run_record_by_id(failed.run_id).end_time
                wait_for("an automation tick after the failure", lambda: ticked_after(graphql, failed_end), 300, procs)
                assert not automation_runs(instance), "nothing reading Cboe may run from a failed gate"
                wait_for("Monday's batch settled", lambda: settled_after_releases(instance, graphql), WAIT_S, procs)
                mixed = built_from(instance, DAY_MARKER, graph)  # the features mart, the models, the decision day
                assert not mixed, f"built from Cboe's last good version while its batch failed its gate: {mixed}"

                # Tuesday: the publisher has corrected the value; the chain resumes by itself, through the feeds.
                clock.set(evening(TUE))
                moved = {TUE: time.time()}
                resumed = wait_for("Tuesday's Cboe run", lambda: release_run(instance, TUE), WAIT_S, procs)
                assert resumed.status == DagsterRunStatus.SUCCESS, run_failure(instance, resumed.run_id)
                assert resumed.tags["dagster/partition"] == TUE.isoformat()
                assert silver_version(storage) > version
                staged = wait_for(
                    "the automation run reading Tuesday's Cboe rows", lambda: automation_runs(instance), WAIT_S, procs
                )
                assert_built_after(instance, staged[0], resumed)
                wait_for("Tuesday's feed delivery", lambda: _delivered(instance, TUE), WAIT_S, procs)
                _report(instance, TUE, moved[TUE])

                # Wednesday (EIA's weekly petroleum report), then Thursday and Friday (COT) in one move.
                clock.set(evening(WED))
                moved[WED] = time.time()
                wait_for("Wednesday's feed delivery", lambda: _delivered(instance, WED), WAIT_S, procs)
                _report(instance, WED, moved[WED])
                clock.set(evening(FRI))
                moved[FRI] = time.time()
                for day in (THU, FRI):
                    wait_for(f"{day}'s feed delivery", lambda day=day: _delivered(instance, day), WAIT_S, procs)
                _report(instance, FRI, moved[FRI])

                for day in (TUE, WED, THU, FRI):
                    chain = day_chain(instance, day)  # each stage started after what it reads was rebuilt
                    runs = {run_id for _, run_id, _, _ in chain}
                    assert all(instance.get_run_by_id(r).tags.get("dagster/sensor_name") for r in runs), (
                        f"{day}: a run of the chain was not launched by a sensor"
                    )
                assert materialization(instance, SIGNALS, MON.isoformat()) is None, "Monday's gate held its signals"
                automation = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "nexus_automation"}))
                for run in automation:  # marts wait for every input to pass its gating checks, in every run
                    violations = gate_violations(instance, run.run_id, graph)
                    assert not violations, (run.run_id, violations)
                for stream, day in (("eia_petroleum", WED), ("cot", FRI)):
                    run = release_run(instance, day, stream)
                    assert run is not None and run.status == DagsterRunStatus.SUCCESS, (stream, day)
            _assert_in_lake(storage, (TUE, WED, THU, FRI), Path(env["NEXUS_FEEDS_URI"]))
            runs = httpx.post(
                graphql,
                json={"query": "{ runsOrError { ... on Runs { results { runId status } } } }"},
                timeout=60,
            ).json()["data"]["runsOrError"]["results"]
            assert {failed.run_id, resumed.run_id, staged[0].run_id} <= {r["runId"] for r in runs}
        for proc in procs:  # the daemon's code server and the webserver's went with them
            assert group_members(proc.pid) == [], f"{proc.args[0]} left processes behind"
    finally:
        alerts.close()


def _report(instance: DagsterInstance, day: date, moved: float) -> None:
    """What one clock move cost: wall time to the feed delivery and the runs it took, by stage (see -s output)."""
    delivered = materialization(instance, FEEDS_KEY, day.isoformat())
    assert delivered is not None
    runs = runs_per_stage(instance, moved)
    print(f"\n{day}: clock moved -> feed delivery {delivered.timestamp - moved:.0f} s; {sum(runs.values())} runs:")
    for stage, count in sorted(runs.items()):
        print(f"  {count:3d}  {stage}")


def _delivered(instance: DagsterInstance, day: date) -> bool:
    return materialization(instance, FEEDS_KEY, day.isoformat()) is not None


def _assert_in_lake(storage: LakeStorage, days: tuple[date, ...], feeds: Path) -> None:
    """Each day's signals, persona documents and client deliveries are in the lake and the feeds folder."""
    signals = read_table(storage, storage.uri("gold", "signals", "daily")).to_pandas()
    log = read_table(storage, storage.uri("gold", "feeds", "delivery_log")).to_pandas()
    for day in days:
        assert (signals["signal_date"].astype(str) == day.isoformat()).sum() > 0, f"no signals for {day}"
        for persona in ("hedging_desk", "institutional", "wealth_manager", "hedge_fund", "retail_trader"):
            document = storage.uri("gold", "personas", "_documents", f"date={day}", f"{persona}.json")
            assert storage.exists(document), f"no {persona} document for {day}"
        assert (log["as_of"].astype(str) == day.isoformat()).sum() > 0, f"no client delivery for {day}"
        assert list(feeds.glob(f"*/date={day}/v*/manifest*")), f"no delivered manifest for {day}"
