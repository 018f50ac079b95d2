"""The in-process dbt runner's manifest cache key: it follows the project's files and the environment variables the
project reads, and nothing else from the environment (no secret ends up in the key or its digest)."""

import inspect
from pathlib import Path

import dagster_dbt

from resources.dbt_inprocess import DAGSTER_DBT_CHECKED, DAGSTER_DBT_PRIVATE, parse_key
from resources.settings import PROJECT_ROOT


def test_parse_key_reads_only_the_variables_the_project_uses(monkeypatch):
    monkeypatch.setenv("NEXUS_FRED_API_KEY", "not-a-real-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("NEXUS_LAKE_URI", "/somewhere/lake")
    _, files, env = parse_key()
    names = dict(env)
    assert {"NEXUS_LAKE_URI", "NEXUS_DUCKDB_PATH", "NEXUS_DECISION_TIME_UTC"} <= set(names)
    assert names["NEXUS_LAKE_URI"] == "/somewhere/lake"
    assert "not-a-real-key" not in repr(env) and "not-a-real-secret" not in repr(env)
    assert any(path == "dbt_project.yml" for path, _, _ in files)


def test_parse_key_changes_with_a_value_the_project_reads(monkeypatch):
    monkeypatch.setenv("NEXUS_LAKE_URI", "/a")
    before = parse_key()
    monkeypatch.setenv("NEXUS_LAKE_URI", "/b")
    after = parse_key()
    assert after != before
    monkeypatch.setenv("NEXUS_SOMETHING_THE_PROJECT_DOES_NOT_READ", "x")
    assert parse_key() == after


def test_the_in_process_runner_was_checked_against_the_installed_dagster_dbt():
    """An upgrade of dagster-dbt fails here, not silently in the marts: re-read the private functions in
    `DAGSTER_DBT_PRIVATE` (resources/dbt_inprocess.py), run the marts tests, then update `DAGSTER_DBT_CHECKED`."""
    assert dagster_dbt.__version__ == DAGSTER_DBT_CHECKED, (
        f"dagster-dbt is {dagster_dbt.__version__}, the in-process dbt runner was checked against "
        f"{DAGSTER_DBT_CHECKED}: re-check {[f.__name__ for f in DAGSTER_DBT_PRIVATE]}"
    )
    select, manifest_of, params_for, event = DAGSTER_DBT_PRIVATE
    expected = {
        select: {"args"},
        manifest_of: {"dbt_assets"},
        params_for: {"context", "manifest", "dagster_dbt_translator", "runtime_selects", "runtime_excludes"},
        event.to_default_asset_events: {"manifest", "dagster_dbt_translator", "context", "target_path"},
    }
    for function, names in expected.items():
        assert names <= set(inspect.signature(function).parameters), function


def test_only_the_in_process_runner_imports_dagster_dbt_private_modules():
    private = ("dagster_dbt.asset_utils", "dagster_dbt.core")
    users = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("pipelines", "assets", "resources")
        for path in Path(PROJECT_ROOT / folder).rglob("*.py")
        if any(name in path.read_text(encoding="utf-8") for name in private)
    )
    assert users == ["resources/dbt_inprocess.py"]


def test_each_environment_keeps_its_parsed_manifest(monkeypatch, tmp_path):
    """Two lakes used in turn (a test's and the default): each parses once, then loads its own pickle; a single
    cache file made every switch parse again."""
    import os
    from types import SimpleNamespace

    from dbt.contracts.graph.manifest import Manifest

    from resources import dbt_inprocess

    parses: list[str] = []

    class CountingRunner:
        def __init__(self, **_: object) -> None:
            pass

        def invoke(self, args: list[str]) -> SimpleNamespace:
            parses.append(os.environ["NEXUS_LAKE_URI"])
            return SimpleNamespace(success=True, result=Manifest(), exception=None)

    monkeypatch.setattr(dbt_inprocess, "dbtRunner", CountingRunner)
    for lake in ("/a", "/b", "/a", "/b", "/a"):
        monkeypatch.setenv("NEXUS_LAKE_URI", lake)
        dbt_inprocess._parsed.clear()  # as in a new process
        assert isinstance(dbt_inprocess.parsed_manifest(tmp_path), Manifest)
    assert parses == ["/a", "/b"]
    assert len(list(tmp_path.glob("nexus_manifest.*.pickle"))) == 2


def test_a_new_target_starts_from_the_code_locations_parse_state_and_gets_the_same_manifest(monkeypatch, tmp_path):
    """A fresh clone's marts build parsed the whole project again beside the code location's parse; it now starts
    from that parse's state, dbt reparses no file (same settings), and the manifest is the same."""
    import json

    from resources import dbt_inprocess
    from resources.dbt_inprocess import PARTIAL_PARSE

    code_location = tmp_path / "target"
    monkeypatch.setattr(dbt_inprocess, "CODE_LOCATION_TARGET", code_location)
    full = dbt_inprocess.parsed_manifest(code_location)  # what `dbt parse` leaves in dbt_project/target
    dbt_inprocess._parsed.clear()  # the marts build, as in a new process

    nightly = tmp_path / "nightly"
    seeded = dbt_inprocess.parsed_manifest(nightly)
    assert json.loads((code_location / "perf_info.json").read_text())["parsed_path_count"] > 0
    assert json.loads((nightly / "perf_info.json").read_text())["parsed_path_count"] == 0  # a partial parse
    assert {k: n.checksum.checksum for k, n in seeded.nodes.items()} == {
        k: n.checksum.checksum for k, n in full.nodes.items()
    }
    assert set(seeded.sources) == set(full.sources) and set(seeded.macros) == set(full.macros)

    own = tmp_path / "own"
    own.mkdir()
    (own / PARTIAL_PARSE).write_bytes(b"its own state")
    dbt_inprocess._seed_partial_parse(own)  # a folder with a state of its own keeps it
    assert (own / PARTIAL_PARSE).read_bytes() == b"its own state"
