"""Dagster's own daemon and webserver on 127.0.0.1, as `make serve` starts them (pipelines/serve.py: one code
server, then the daemon and the webserver), for the daemon tests and their bench."""

import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from pipelines.serve import group_members, process_groups, serving
from tests.conftest import free_port

__all__ = ["daemon_and_webserver", "group_members", "process_groups", "start_sensor"]

START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}
"""


@contextmanager
def daemon_and_webserver(
    env: Mapping[str, str], port: int, log_path: Path, startup_s: float = 600
) -> Iterator[list[subprocess.Popen]]:
    """`make serve`'s three processes (`pipelines.serve.serving`) with `env`, the webserver on `port`, the code server
    on a free port; the code server's and daemon's output in `log_path`, the workspace beside it."""
    with (
        log_path.open("w") as log,
        serving(env, port, free_port(), log_path.parent, log, subprocess.DEVNULL, startup_s) as procs,
    ):
        yield procs


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
