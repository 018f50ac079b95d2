"""The code location loads on a fresh checkout: no lake folder, no dbt target, no settings file (`.env`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resources.settings import PROJECT_ROOT

PACKAGES = ("pipelines", "assets", "resources", "dbt_project")
# imported where they are used (models, signals, the PDF), not by every process that loads the definitions
# (`nexus run` with nothing new, the webserver, the daemon): ~3 s of CPU at each start
HEAVY = ("scipy", "matplotlib", "reportlab", "great_expectations", "lightgbm", "hmmlearn", "sklearn")
IGNORED = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages", ".user.yml")


@pytest.mark.slow  # a fresh interpreter loads Dagster and the whole graph
def test_definitions_import_on_a_fresh_checkout_without_the_heavy_libraries(tmp_path):
    checkout = tmp_path / "checkout"
    for name in PACKAGES:
        shutil.copytree(PROJECT_ROOT / name, checkout / name, ignore=IGNORED)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", checkout / "dagster.yaml")
    assert not (checkout / ".env").exists() and not (checkout / "dbt_project" / "target").exists()
    lake = tmp_path / "no-lake-here"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(PYTHONPATH=str(checkout), NEXUS_LAKE_URI=str(lake), DAGSTER_HOME=str(tmp_path / "dagster_home"))
    manifest = checkout / "dbt_project" / "target" / "manifest.json"
    code = (
        "import sys\n"
        "import pipelines.definitions as definitions\n"
        f"assert definitions.__file__.startswith({str(checkout)!r}), definitions.__file__\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, f'imported with the definitions: {heavy}'\n"
        f"assert not __import__('pathlib').Path({str(manifest)!r}).exists(), 'dbt parsed at import'\n"
        "print(len(definitions.defs.resolve_all_asset_specs()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert int(result.stdout.strip().splitlines()[-1]) > 50
    assert manifest.exists(), "loading the definitions parses the dbt project once its manifest is needed"
    assert not lake.exists(), "importing the definitions created the lake folder"
    assert not Path(tmp_path / "dagster_home").exists(), "importing the definitions created the Dagster home"
