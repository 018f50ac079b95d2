"""`dagster definitions validate` loads the code location from workspace.yaml.

The webserver serving the asset graph over GraphQL is tested on the webserver test_one_chain.py starts anyway
(test_one_chain.py::test_the_webserver_serves_the_asset_graph_in_stage_groups): one webserver start less."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resources.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


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
