"""A short `nexus run` chain on a fresh Dagster home, and Dagster's webserver serving it, for the e2e tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from resources.settings import PROJECT_ROOT
from tests.conftest import free_port

BIN = Path(sys.executable).parent
NEXUS = str(BIN / "nexus")
# a few weeks: every ingest cadence and the marts, too short for the model stage (skipped, and said so)
SHORT_RUN = ["run", "--start", "2024-06-03", "--end", "2024-06-28"]


@dataclass
class Webserver:
    url: str
    process: subprocess.Popen

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@contextmanager
def webserver(env: dict[str, str]) -> Iterator[Webserver]:
    """`dagster-webserver -w workspace.yaml` on a free port of 127.0.0.1, up once it serves the asset graph."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    server = Webserver(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.time() + 180
        while True:
            assert process.poll() is None, "the webserver exited"
            assert time.time() < deadline, "the webserver never served the asset graph"
            try:
                if server.graphql("{ assetNodes { id } }")["assetNodes"]:
                    break
            except (httpx.HTTPError, ValueError, AssertionError):
                time.sleep(1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
