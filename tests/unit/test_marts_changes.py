"""The nightly marts build plan: full without a trustworthy record, nothing when no silver table changed, else
only what the changed tables feed."""

from types import SimpleNamespace

import duckdb

from resources.marts_changes import plan_build, record_build

VERSIONS = {"cboe.index_closes": 4, "cot.legacy_positions": 2, "reference.instruments": 6}


def _manifest() -> SimpleNamespace:
    def model(schema: str, alias: str) -> SimpleNamespace:
        return SimpleNamespace(
            resource_type="model", schema=schema, alias=alias, config=SimpleNamespace(materialized="table")
        )

    return SimpleNamespace(
        nodes={
            "model.nexus.stg_cboe": model("staging", "stg_cboe"),
            "model.nexus.fct_vol": model("marts", "fct_vol"),
            "test.nexus.t": SimpleNamespace(resource_type="test"),
        }
    )


def _warehouse(tmp_path, *, tables=("staging.stg_cboe", "marts.fct_vol")):
    path = tmp_path / "nexus.duckdb"
    with duckdb.connect(str(path)) as con:
        for table in tables:
            schema, _ = table.split(".")
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {table} (x int)")
    return path


def test_no_record_means_a_full_build(tmp_path):
    plan = plan_build(_manifest(), VERSIONS, "fp", _warehouse(tmp_path))
    assert plan.is_full and "no record" in plan.reason
    assert plan_build(_manifest(), VERSIONS, "fp", tmp_path / "absent.duckdb").is_full


def test_unchanged_sources_mean_nothing_to_build(tmp_path):
    warehouse = _warehouse(tmp_path)
    record_build(warehouse, VERSIONS, "fp")
    plan = plan_build(_manifest(), dict(VERSIONS), "fp", warehouse)
    assert plan.is_noop and not plan.is_full and plan.changed_sources == ()


def test_changed_sources_select_what_they_feed(tmp_path):
    warehouse = _warehouse(tmp_path)
    record_build(warehouse, VERSIONS, "fp")
    current = {**VERSIONS, "cboe.index_closes": 5, "reference.instruments": None}
    plan = plan_build(_manifest(), current, "fp", warehouse)
    assert plan.select == ["source:cboe.index_closes+", "source:reference.instruments+"]
    assert plan.changed_sources == ("cboe.index_closes", "reference.instruments")
    assert "2 of 3 silver tables changed" in plan.reason


def test_a_new_source_counts_as_changed(tmp_path):
    warehouse = _warehouse(tmp_path)
    record_build(warehouse, VERSIONS, "fp")
    plan = plan_build(_manifest(), {**VERSIONS, "fred.series": 1}, "fp", warehouse)
    assert plan.select == ["source:fred.series+"]


def test_another_project_or_settings_fingerprint_means_a_full_build(tmp_path):
    warehouse = _warehouse(tmp_path)
    record_build(warehouse, VERSIONS, "fp")
    plan = plan_build(_manifest(), VERSIONS, "other", warehouse)
    assert plan.is_full and "changed since the last build" in plan.reason


def test_a_missing_model_table_means_a_full_build(tmp_path):
    warehouse = _warehouse(tmp_path, tables=("staging.stg_cboe",))
    record_build(warehouse, VERSIONS, "fp")
    plan = plan_build(_manifest(), VERSIONS, "fp", warehouse)
    assert plan.is_full and "marts.fct_vol" in plan.reason


def test_recording_again_replaces_the_record(tmp_path):
    warehouse = _warehouse(tmp_path)
    record_build(warehouse, VERSIONS, "fp")
    record_build(warehouse, {**VERSIONS, "cboe.index_closes": 9}, "fp")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = dict(con.execute("select source, delta_version from nexus_build.source_versions").fetchall())
    assert rows["cboe.index_closes"] == 9 and len(rows) == 3
