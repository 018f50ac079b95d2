"""The daemon's latency for one new business day: from the publishers' releases to the last stage it builds, and
the share of that time spent in Dagster (sensor and automation intervals, run queue, run-process start, code
loading) rather than in the assets' steps.

`make bench BENCH=daemon`. A `dagster-daemon` and `dagster-webserver` on 127.0.0.1 with the project's instance
(SQLite, queued runs), the simulated publisher and its clock file, every release sensor and the automation sensor
on, as an operator turns them on. Warm-up: the clock moves to Tuesday 25 June 2024 after Cboe's close, the release
sensors load each publisher's history as of that day and automation builds what follows; the bench waits until
the instance is quiet. Measured: the clock moves to Wednesday 26 June 17:05 New York (EIA's WPSR, Cboe's close
and FRED are out) and the bench times every run that follows until the instance is quiet again.

Dagster share = 1 - (union of the step intervals) / (release to last run end): steps are the assets' own work,
including reading and writing the lake; everything between them is orchestration.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from resources.dagster_instance import create_instance_storage, write_instance_yaml
from resources.releases import STREAMS
from resources.settings import Settings
from resources.simulated.clock import PublisherClock
from tests.bench.common import Figure, isolated_env
from tests.conftest import free_port
from tests.e2e.dagster_services import daemon_and_webserver, start_sensor

NY = ZoneInfo("America/New_York")
WARM_UP = datetime.combine(date(2024, 6, 25), clock_time(16, 20), tzinfo=NY)
MEASURED = datetime.combine(date(2024, 6, 26), clock_time(17, 5), tzinfo=NY)
QUIET_S = 90  # no run queued or in progress for this long: the chain has done what it will do
TIMEOUT_S = 1800
STEP_ENDS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


def _start_sensors(url: str, names: list[str]) -> None:
    for name in names:
        started = start_sensor(url, name)
        if started.get("sensorState", {}).get("status") != "RUNNING":
            raise RuntimeError(f"could not start sensor {name}: {started}")


def _wait_quiet(instance: DagsterInstance, since: float, procs: list[subprocess.Popen], deadline: float) -> None:
    """Until a run started after `since` has finished and nothing has been queued or running for QUIET_S."""
    busy = {DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
    quiet_since = None
    while time.time() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited")
        records = instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since).astimezone()))
        active = [r for r in records if r.dagster_run.status in busy]
        if records and not active:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= QUIET_S:
                return
        else:
            quiet_since = None
        time.sleep(5)
    raise RuntimeError("the chain did not go quiet before the bench's timeout")


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def day_timings(instance: DagsterInstance, since: float) -> tuple[float, float, list[str], list[str]]:
    """(release to last run end s, union of step intervals s, assets materialized, failed runs) after `since`."""
    records = instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since).astimezone()))
    steps: list[tuple[float, float]] = []
    materialized: set[str] = set()
    failed = []
    last_end = since
    for record in records:
        last_end = max(last_end, record.end_time or since)
        if record.dagster_run.status == DagsterRunStatus.FAILURE:
            failed.append(record.dagster_run.job_name)
        started: dict[str, float] = {}
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
                materialized.add(event.asset_key.to_user_string())
            if event.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type in STEP_ENDS and event.step_key in started:
                steps.append((started.pop(event.step_key), entry.timestamp))
    return last_end - since, _union(steps), sorted(materialized), sorted(failed)


def run() -> list[Figure]:
    root = Path(tempfile.mkdtemp(prefix="nexus-bench-daemon-"))
    clock_file = root / "publisher_clock.json"
    env = isolated_env(
        root,
        NEXUS_START_DATE="2024-01-02",
        NEXUS_END_DATE="2024-06-28",
        NEXUS_FEEDS_URI=str(root / "feeds"),
        NEXUS_PUBLISHER_CLOCK_FILE=str(clock_file),
    )
    home = Path(env["DAGSTER_HOME"])
    write_instance_yaml(home, Settings(_env_file=None, dagster_home=home))  # the project's instance: queued runs
    create_instance_storage(home)  # as `make serve` does: SQLite's schema made once, not raced by two processes
    clock = PublisherClock(clock_file)
    clock.set(WARM_UP)
    port = free_port()
    deadline = time.time() + TIMEOUT_S
    with daemon_and_webserver(env, port, root / "daemon.log") as procs:
        _start_sensors(f"http://127.0.0.1:{port}/graphql", [*(f"{s}_release" for s in STREAMS), "nexus_automation"])
        with DagsterInstance.from_config(str(home)) as instance:
            warm = time.time()
            _wait_quiet(instance, warm, procs, deadline)
            released = time.time()
            clock.set(MEASURED)
            _wait_quiet(instance, released, procs, deadline)
            total, in_steps, materialized, failed = day_timings(instance, released)
    stages = ("gold/feeds/", "gold/personas/", "gold/signals/", "gold/models/", "gold/marts/", "marts/", "silver/")
    reached = next((s for s in stages if any(k.startswith(s) for k in materialized)), "none")
    print(
        f"  day 2024-06-26: {len(materialized)} assets materialized; furthest stage: {reached}; "
        f"failed runs: {failed or 'none'}"
    )
    print(f"  daemon log: {root / 'daemon.log'}")
    return [
        Figure("daemon: release to last run end, one business day", total, "s"),
        Figure("daemon: in asset steps (union of step intervals)", in_steps, "s"),
        Figure("daemon: share of it in Dagster (not in steps)", 100 * (1 - in_steps / total) if total else 0, "%"),
        Figure("daemon: reached feed delivery (1 yes, 0 no)", float("gold/feeds/delivery_log" in materialized), ""),
    ]
