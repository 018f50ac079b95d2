"""Dagster's own daemon and webserver on 127.0.0.1, as `make serve` starts them, for the daemon test and its bench."""

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from resources.settings import PROJECT_ROOT

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


@contextmanager
def daemon_and_webserver(env: Mapping[str, str], port: int, log_path: Path) -> Iterator[list[subprocess.Popen]]:
    """Both processes with `env` (the daemon's output in `log_path`), stopped on exit, killed if they hang."""
    with log_path.open("w") as log:
        procs = [
            subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                cwd=PROJECT_ROOT,
                env=dict(env),
                stdout=log,
                stderr=log,
            ),
            subprocess.Popen(
                [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                cwd=PROJECT_ROOT,
                env=dict(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        try:
            yield procs
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()


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
