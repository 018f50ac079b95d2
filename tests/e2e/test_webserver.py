"""Dagster's own webserver loads the code location and serves the asset graph over GraphQL."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from resources.settings import PROJECT_ROOT, get_settings
from tests.conftest import free_port

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent

QUERY = "{ assetNodes { assetKey { path } groupName isPartitioned hasAssetChecks } }"


def test_definitions_validate():
    env = dict(os.environ, DAGSTER_HOME=str(get_settings().dagster_home))
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_webserver_serves_the_asset_graph():
    port = free_port()
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = dict(os.environ, DAGSTER_HOME=str(home))
    proc = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        nodes = None
        deadline = time.time() + 180
        while time.time() < deadline and nodes is None:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "webserver exited"
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10)
                data = response.json().get("data") or {}
                nodes = data.get("assetNodes") or None
            except (httpx.HTTPError, ValueError):
                time.sleep(1)
        assert nodes, "the webserver never answered the asset graph query"
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        assert by_key["silver/cboe/index_closes"]["groupName"] == "silver"
        assert by_key["silver/cboe/index_closes"]["isPartitioned"]
        assert by_key["silver/cboe/index_closes"]["hasAssetChecks"]
        # groups are the stages an operator follows (issue 10): bronze lands with its ingest, dbt's layers and the
        # published gold copies are all the marts stage
        assert by_key["bronze/cboe/index_history"]["groupName"] == "ingest"
        assert by_key["marts/fct_vol_term_structure_daily"]["groupName"] == "marts"
        assert by_key["staging/stg_cboe__index_closes"]["groupName"] == "marts"
        assert by_key["gold/marts/fct_vol_term_structure_daily"]["groupName"] == "marts"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
