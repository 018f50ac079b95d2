"""The Dagster marts job with dbt in process: a first run builds and checks everything, a second with nothing new
rebuilds nothing (and reports its dbt tests' last verdicts again), a failing dbt check fails the step, blocks the
gold publishing and records nothing, and one mart picked alone is built as asked.

The job runs in a child process (as a Dagster run worker would), so dbt's process-wide state stays out of the
test session.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys
from datetime import UTC, date, datetime

import pyarrow as pa
from dagster import DagsterInstance

from pipelines.definitions import defs
from resources.lake.delta import merge_versioned, read_table
from resources.lake.storage import LakeStorage
from resources.marts_build import ingest_all
from resources.settings import get_settings
from resources.sources.cboe.spec import INDEX_CLOSES

settings = get_settings()
storage = LakeStorage.from_settings(settings)
ingest_all(storage, settings, start=date(2023, 1, 2), end=date(2024, 6, 28))
job = defs.get_job_def("marts_job")
instance = DagsterInstance.ephemeral()


def summary(result):
    materialized = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    dbt = [m for m in materialized if m.asset_key.path[0] in ("staging", "intermediate", "marts")]
    steps = {s.step_key: s.status.value for s in instance.get_run_step_stats(result.run_id)}
    return {
        "success": result.success,
        "dbt_outputs": len(dbt),
        "not_rebuilt": sum(1 for m in dbt if m.metadata.get("rebuilt") is not None and not m.metadata["rebuilt"].value),
        "checks_passed": sum(1 for c in result.get_asset_check_evaluations() if c.passed),
        "checks_carried": sum(1 for c in result.get_asset_check_evaluations() if "carried_from_run" in c.metadata),
        "checks_failed": sorted(c.check_name for c in result.get_asset_check_evaluations() if not c.passed),
        "steps": steps,
        "errors": [str(e.event_specific_data.error.message)[:1500] for e in result.all_events
                   if e.event_type_value == "STEP_FAILURE"],
    }


from resources.marts_changes import read_recorded  # noqa: E402

runs = [summary(job.execute_in_process(instance=instance, raise_on_error=False)) for _ in range(2)]
from tests.integration.marts_fixtures import mart_last_dates  # noqa: E402

# the lake is as of 2024-06-28: no mart runs past it (the marts job passes the as-of date to dbt)
runs[0]["last_dates"] = {
    name: {column: str(value) for column, value in columns.items()}
    for name, columns in mart_last_dates(settings.duckdb_path).items()
}
recorded_before = read_recorded(settings.duckdb_path)[1]["cboe.index_closes"]

# a VIX close of 900 (a restatement landed now): the range rule on Cboe closes must stop the build
last = read_table(storage, INDEX_CLOSES, filters=[("index_symbol", "=", "VIX")])
last = last.sort_by([("observed_date", "descending")])
row = last.slice(0, 1).drop_columns(["version", "is_revision"]).to_pylist()[0]
now = datetime.now(UTC)
row.update(close=900.0, available_at=now, ingested_at=now)
schema = last.drop_columns(["version", "is_revision"]).schema
merge_versioned(storage, INDEX_CLOSES, pa.Table.from_pylist([row], schema=schema), revision_available_at=now)
runs.append(summary(job.execute_in_process(instance=instance, raise_on_error=False)))

from deltalake import DeltaTable  # noqa: E402
from dagster import AssetKey  # noqa: E402

# one mart picked in the UI: built as asked (in process), nothing else, whatever the nightly record says
subset = defs.resolve_implicit_global_asset_job_def().execute_in_process(
    instance=instance, asset_selection=[AssetKey(["marts", "fct_macro_daily"])], raise_on_error=False
)
runs.append(summary(subset))

runs.append({
    "recorded_before": recorded_before,
    "recorded_after": read_recorded(settings.duckdb_path)[1]["cboe.index_closes"],
    "current": DeltaTable(storage.uri("silver", *INDEX_CLOSES.name.split("/"))).version(),
})
print("__RESULT__" + json.dumps(runs))
"""


def test_marts_job_builds_then_skips_then_blocks_on_a_failing_check(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(
        NEXUS_LAKE_URI=str(tmp_path / "lake"),
        NEXUS_DUCKDB_PATH=str(tmp_path / "warehouse" / "nexus.duckdb"),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(tmp_path / "gold" / "nexus_marts.duckdb"),
        NEXUS_START_DATE="2023-01-02",
        NEXUS_END_DATE="2024-06-28",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    (tmp_path / "dagster_home").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900, cwd=Path.cwd()
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("__RESULT__")), None)
    assert line, f"{out.stdout[-3000:]}\n{out.stderr[-5000:]}"
    first, second, broken, subset, record = json.loads(line.removeprefix("__RESULT__"))

    assert first["success"] and first["dbt_outputs"] == 33 and first["not_rebuilt"] == 0, first
    assert first["checks_passed"] >= 32 and first["checks_failed"] == []
    last_dates = first["last_dates"]
    assert len(last_dates) >= 9 and last_dates["fct_energy_daily"]["trade_date"] == "2024-06-28", last_dates
    for name, columns in last_dates.items():
        for column, last in columns.items():  # dates, and decision_at by 2024-06-28 22:00 UTC
            assert last == "None" or last[:10] <= "2024-06-28", (name, column, last)
    assert first["steps"]["publish_marts"] == "SUCCESS"

    assert second["success"] and second["dbt_outputs"] == 33 and second["not_rebuilt"] == 33, second
    # nothing ran: every dbt test's last verdict is reported again, marked as carried (no "emitted no result")
    assert second["checks_passed"] == second["checks_carried"] == first["checks_passed"], second
    assert second["checks_failed"] == []
    assert "emitted no result" not in out.stderr
    assert second["steps"]["publish_marts"] == "SUCCESS"

    assert not broken["success"], broken
    assert "row_checks_stg_cboe__index_closes" in broken["checks_failed"], broken["errors"]
    assert broken["steps"]["nexus_dbt_models"] == "FAILURE"
    assert broken["steps"].get("publish_marts") in (None, "SKIPPED"), broken
    assert subset["success"] and subset["dbt_outputs"] == 1 and subset["not_rebuilt"] == 0, subset
    assert subset["checks_passed"] >= 1 and subset["checks_failed"] == []
    # the failed build recorded nothing: the next one still sees Cboe as changed
    assert record["recorded_after"] == record["recorded_before"] != record["current"], record
