"""`nexus run` on the embedded default, as a user runs it, twice."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resources.lake.delta import content_hash, read_table
from resources.lake.storage import LakeStorage
from resources.settings import get_settings

pytestmark = pytest.mark.slow
NEXUS = str(Path(sys.executable).with_name("nexus"))
SILVER_TABLES = [
    "silver/cboe/index_closes",
    "silver/cot/legacy_positions",
    "silver/cot/tff_positions",
    "silver/cot/disaggregated_positions",
    "silver/fred/observations",
    "silver/fred/series",
    "silver/eia/weekly_series",
    "silver/eia/daily_prices",
    "silver/coinmetrics/asset_metrics",
]
REAL_FOLDERS = {"cot": "cot", "fred": "fred", "eia": "eia", "cboe": "cboe", "coinmetrics": "coinmetrics"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") or k == "NEXUS_REAL_DATA_DIR"}
    s = get_settings()
    env.update(
        NEXUS_LAKE_URI=s.lake_uri,
        NEXUS_DUCKDB_PATH=str(s.duckdb_path),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(s.published_duckdb_path),
        DAGSTER_HOME=str(s.dagster_home),
    )
    Path(s.dagster_home).mkdir(parents=True, exist_ok=True)
    return env


def _hashes(storage: LakeStorage) -> dict[str, str]:
    from resources.lake.catalog import list_tables

    return {f"{t.zone}/{t.name}": content_hash(read_table(storage, t.uri)) for t in list_tables(storage)}


def test_run_builds_every_zone_and_a_rerun_changes_nothing(storage):
    args = [NEXUS, "run", "--start", "2023-01-02", "--end", "2024-06-28"]
    first = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "built the graph" in first.stdout and "make ui" in first.stdout

    status = subprocess.run([NEXUS, "status", "--json"], env=_env(), capture_output=True, text=True, timeout=120)
    tables = {f"{t['zone']}/{t['name']}": t for t in json.loads(status.stdout)}
    for name in SILVER_TABLES:
        assert tables[name]["rows"] > 0, f"{name} is empty"
        assert tables[name]["last_date"] <= "2024-06-28", f"{name} holds data after the as-of date"
    assert tables["silver/cboe/index_closes"]["rows"] > 1000
    assert tables["silver/cboe/index_closes"]["last_date"] == "2024-06-28"
    assert tables["gold/marts/fct_vol_term_structure_daily"]["rows"] > 300
    assert "bronze/_manifest" in tables
    hashes = _hashes(storage)

    second = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _hashes(storage) == hashes


def test_run_reports_a_failure_clearly(tmp_path):
    env = _env() | {"NEXUS_SOURCE_MODE": "files", "NEXUS_FILES_DIR": str(tmp_path / "nothing-here")}
    result = subprocess.run([NEXUS, "run", "--end", "2024-06-28"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "daily_ingest_job failed" in result.stdout
    assert "no Cboe" in result.stdout


@pytest.mark.real_data
def test_every_real_file_loads_from_the_cli(real_data):
    for source, folder in REAL_FOLDERS.items():
        result = subprocess.run(
            [NEXUS, "ingest", source, "--files", str(real_data / folder)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{source}: {result.stdout}{result.stderr}"
        assert "quarantined 0" in result.stdout, result.stdout
        assert "added" in result.stdout
    status = subprocess.run([NEXUS, "status", "--json"], env=_env(), capture_output=True, text=True, timeout=120)
    tables = {f"{t['zone']}/{t['name']}": t["rows"] for t in json.loads(status.stdout)}
    assert tables["silver/cot/tff_positions"] > 10_000
    assert tables["silver/fred/observations"] > 60_000
    assert tables["silver/coinmetrics/asset_metrics"] > 100_000
