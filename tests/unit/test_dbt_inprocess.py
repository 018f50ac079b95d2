"""The in-process dbt runner's manifest cache key: it follows the project's files and the environment variables the
project reads, and nothing else from the environment (no secret ends up in the key or its digest)."""

from resources.dbt_inprocess import parse_key


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
