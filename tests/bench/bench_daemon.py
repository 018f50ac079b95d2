"""The daemon's latency for one new business day: from the publishers' releases to the client feed delivery, and
the share of that time spent in Dagster (sensor and automation intervals, run queue, run-process start, code
loading) rather than in the assets' steps.

`make bench BENCH=daemon`. The lake is built by `nexus run` as of Tuesday 25 June 2024 (the shortest history the
models accept: the daemon only predicts), then `dagster-daemon` and `dagster-webserver` run on 127.0.0.1 with the
project's instance (SQLite, queued runs), the simulated publisher and its clock file, every release sensor and the
automation sensor on, as an operator turns them on (tests/e2e/daemon_days.py, the daemon test's machinery).
Warm-up: the clock stands at Tuesday evening, so each release sensor's first tick re-ingests Tuesday and automation
rebuilds what follows; the bench waits until the instance is quiet. Measured: the clock moves to Wednesday 26 June
17:05 New York (EIA's WPSR, Cboe's close and FRED are out) and the bench times until Wednesday's client feed
delivery is materialized.

Dagster share = 1 - (union of the step intervals) / (release to feed delivery): steps are the assets' own work,
including reading and writing the lake; everything between them is orchestration.

Sensor intervals: production's (the settings' defaults: releases every 60 s, automation every 30 s) unless
DAEMON_BENCH_INTERVALS=test, which uses the daemon test's (tests/e2e/daemon_days.py::FAST_INTERVALS).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from resources.dagster_instance import create_instance_storage, write_instance_yaml
from resources.releases import STREAMS
from resources.settings import PROJECT_ROOT, Settings
from resources.simulated.clock import PublisherClock
from tests.bench.common import Figure, isolated_env
from tests.conftest import free_port
from tests.e2e.daemon_days import (
    FAST_INTERVALS,
    FEEDS,
    HISTORY_START,
    build_lake,
    daemon_env,
    evening,
    materialization,
    runs_per_stage,
)
from tests.e2e.dagster_services import daemon_and_webserver, start_sensor

WARM_UP = date(2024, 6, 25)
MEASURED = date(2024, 6, 26)
QUIET_S = 90  # no run queued or in progress for this long: the chain has done what it will do
TIMEOUT_S = 3600
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


def day_timings(instance: DagsterInstance, since: float, until: float) -> tuple[float, float, list[str], list[str]]:
    """(release to `until` s, union of step intervals within it s, assets materialized, failed runs) of the runs
    created after `since`."""
    records = instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since).astimezone()))
    steps: list[tuple[float, float]] = []
    materialized: set[str] = set()
    failed = []
    for record in records:
        if record.dagster_run.status == DagsterRunStatus.FAILURE:
            failed.append(record.dagster_run.job_name)
        started: dict[str, float] = {}
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None or entry.timestamp > until:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
                materialized.add(event.asset_key.to_user_string())
            if event.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type in STEP_ENDS and event.step_key in started:
                steps.append((started.pop(event.step_key), entry.timestamp))
        steps.extend((start, until) for start in started.values())  # a step still running at the delivery
    return until - since, _union(steps), sorted(materialized), sorted(failed)


def _wait_delivered(instance: DagsterInstance, day: date, procs: list[subprocess.Popen], deadline: float) -> float:
    """When the feed delivery of decision day `day` was materialized (its event's timestamp)."""
    while time.time() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited")
        record = materialization(instance, FEEDS, day.isoformat())
        if record is not None:
            return record.timestamp
        time.sleep(3)
    raise RuntimeError(f"no feed delivery for {day} before the bench's timeout")


def run() -> list[Figure]:
    root = Path(tempfile.mkdtemp(prefix="nexus-bench-daemon-"))
    clock_file = root / "publisher_clock.json"
    fast = os.environ.get("DAEMON_BENCH_INTERVALS", "production") == "test"
    env = daemon_env(
        isolated_env(root, NEXUS_FEEDS_URI=str(root / "feeds"), NEXUS_PUBLISHER_CLOCK_FILE=str(clock_file)),
        MEASURED,
        fast=fast,
    )
    print(f"  sensor intervals: {'the test' if fast else 'production'}'s {FAST_INTERVALS if fast else '(60 s, 30 s)'}")
    home = Path(env["DAGSTER_HOME"])
    write_instance_yaml(home, Settings(_env_file=None, dagster_home=home))  # the project's instance: queued runs
    create_instance_storage(home)  # as `make serve` does: SQLite's schema made once, not raced by two processes
    built = time.time()
    build_lake(env, WARM_UP, PROJECT_ROOT)
    print(f"  lake built by nexus run {HISTORY_START} -> {WARM_UP} in {time.time() - built:.0f} s")
    clock = PublisherClock(clock_file)
    clock.set(evening(WARM_UP))
    port = free_port()
    deadline = time.time() + TIMEOUT_S
    with daemon_and_webserver(env, port, root / "daemon.log") as procs:
        _start_sensors(f"http://127.0.0.1:{port}/graphql", [*(f"{s}_release" for s in STREAMS), "nexus_automation"])
        with DagsterInstance.from_config(str(home)) as instance:
            warm = time.time()
            _wait_quiet(instance, warm, procs, deadline)
            released = time.time()
            clock.set(evening(MEASURED))
            delivered = _wait_delivered(instance, MEASURED, procs, deadline)
            total, in_steps, materialized, failed = day_timings(instance, released, delivered)
            runs = runs_per_stage(instance, released)
    print(f"  day {MEASURED}: {len(materialized)} assets materialized by the delivery; failed runs: {failed or 'none'}")
    print(f"  runs since the release: {sum(runs.values())}")
    for stage, count in sorted(runs.items()):
        print(f"    {count:3d}  {stage}")
    print(f"  daemon log: {root / 'daemon.log'}")
    return [
        Figure("daemon: release to feed delivery, one business day", total, "s"),
        Figure("daemon: in asset steps (union of step intervals)", in_steps, "s"),
        Figure("daemon: share of it in Dagster (not in steps)", 100 * (1 - in_steps / total) if total else 0, "%"),
        Figure("daemon: runs from release to feed delivery", float(sum(runs.values())), ""),
    ]
