"""Dagster's own daemon and webserver on 127.0.0.1, as `make serve` starts them, for the daemon test and its bench."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from resources.settings import PROJECT_ROOT
from tests.conftest import free_port

BIN = Path(sys.executable).parent
START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}
"""


GRACE_S = 30.0


def group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid` (zombies excluded), read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def stop_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after `grace_s` (the daemon's `dagster api
    grpc` code server outlives a SIGTERM to the daemon alone)."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait_s
        while group_members(pgid) and time.time() < deadline:
            time.sleep(0.2)
        if not group_members(pgid):
            return


@contextmanager
def process_groups(
    commands: Sequence[Sequence[str]], env: Mapping[str, str], outputs: Sequence[int | object], grace_s: float = GRACE_S
) -> Iterator[list[subprocess.Popen]]:
    """Each command in its own session (so its process group holds everything it spawns), stopped as a group."""
    procs: list[subprocess.Popen] = []
    try:
        for command, output in zip(commands, outputs, strict=True):
            procs.append(
                subprocess.Popen(
                    list(command), cwd=PROJECT_ROOT, env=dict(env), stdout=output, stderr=output, start_new_session=True
                )
            )
        yield procs
    finally:
        for proc in procs:
            stop_group(proc.pid, grace_s)
            proc.wait(timeout=10)


CODE_SERVER_WORKSPACE = """load_from:
  - grpc_server:
      host: 127.0.0.1
      port: {port}
      location_name: nexus
"""


def code_server_answers(port: int) -> bool:
    """Does the code server on `port` of 127.0.0.1 answer a ping yet?"""
    from dagster._grpc.client import DagsterGrpcClient  # Dagster's own client of its code servers

    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").ping("")
        return True
    except Exception:  # not listening yet: any failure to connect means "not yet"
        return False


@contextmanager
def daemon_and_webserver(
    env: Mapping[str, str], port: int, log_path: Path, startup_s: float = 600
) -> Iterator[list[subprocess.Popen]]:
    """One code server (`dagster api grpc`, the code location of workspace.yaml), then the daemon and the
    webserver, each reaching it through a workspace of one `grpc_server` entry (written beside `log_path`); all
    three with `env`, the code server's and daemon's output in `log_path`; on exit each process group is stopped.

    With workspace.yaml's `python_module` entry the daemon starts a code server of its own and, every 60 s
    (Dagster's RELOAD_WORKSPACE_INTERVAL), drops it and starts a new one, which loads the whole code location
    again (~5-15 CPU s each, ~15 times over the three-day scenario); the webserver keeps a second one. A code
    server the daemon and webserver share is loaded once."""
    code_port = free_port()
    workspace = log_path.parent / "grpc_workspace.yaml"
    workspace.write_text(CODE_SERVER_WORKSPACE.format(port=code_port))
    server = [str(BIN / "dagster"), "api", "grpc", "-m", "pipelines.definitions", "-a", "defs"]
    commands = [
        [*server, "-h", "127.0.0.1", "-p", str(code_port), "--location-name", "nexus"],
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
    ]
    with log_path.open("w") as log, process_groups(commands[:1], env, [log]) as code_server:
        deadline = time.time() + startup_s
        while not code_server_answers(code_port):
            assert code_server[0].poll() is None, f"the code server exited; see {log_path}"
            assert time.time() < deadline, f"the code server did not answer within {startup_s:.0f} s"
            time.sleep(1)
        with process_groups(commands[1:], env, [log, subprocess.DEVNULL]) as procs:
            yield [*code_server, *procs]


def start_sensor(graphql: str, name: str, timeout_s: float = 300) -> dict:
    """Start a sensor as the operator would. The webserver may answer before it has loaded the code location, so
    retry until the sensor is found or `timeout_s` passes; returns the mutation's answer (RUNNING on success)."""
    selector = {"repositoryLocationName": "nexus", "repositoryName": "__repository__", "sensorName": name}
    deadline = time.time() + timeout_s
    while True:
        try:
            answer = httpx.post(graphql, json={"query": START_SENSOR, "variables": {"selector": selector}}, timeout=120)
            result = answer.json()["data"]["startSensor"]
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            result = {"__typename": "not answering yet"}
        if result["__typename"] not in ("SensorNotFoundError", "not answering yet") or time.time() > deadline:
            return result
        time.sleep(5)
