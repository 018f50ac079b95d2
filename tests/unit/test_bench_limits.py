"""Smoke tests of `make bench`'s figures beside their limits: the ratio arithmetic, DuckDB alone on a toy compiled
manifest, and step timings read back from a Dagster instance (tiny inputs; the figures themselves are printed by
tests/bench, never asserted)."""

from __future__ import annotations

import json
import math
import time

import duckdb
import pyarrow as pa
from dagster import DagsterInstance, asset, materialize
from deltalake import write_deltalake

from tests.bench.common import beside, growth_exponent, overhead_share, ratio
from tests.bench.duckdb_direct import run_compiled
from tests.bench.run_timings import step_timings


def test_ratio_share_and_growth_exponent():
    assert ratio(3.0, 1.5) == 2.0
    assert math.isnan(ratio(1.0, 0.0))
    assert overhead_share(10.0, 7.5) == 0.25
    assert overhead_share(10.0, 11.0) == 0.0
    sizes = [1, 4, 16]
    assert math.isclose(growth_exponent(sizes, [2.0 * s for s in sizes]), 1.0)
    assert math.isclose(growth_exponent(sizes, [0.5 * s**2 for s in sizes]), 2.0)
    assert math.isclose(growth_exponent(sizes, [5.0, 5.0, 5.0]), 0.0, abs_tol=1e-12)
    assert math.isnan(growth_exponent([1], [1.0]))
    line = beside("parse", 0.3, "s", {"pyarrow.csv": 0.1, "pandas": 0.6}).line()
    assert "3.0x pyarrow.csv 0.10 s | 0.5x pandas 0.60 s" in line


def test_duckdb_alone_runs_compiled_models_and_tests_in_dependency_order(tmp_path):
    source = tmp_path / "silver" / "prices"
    write_deltalake(str(source), pa.table({"symbol": ["A", "A", "B"], "close": [1.0, 2.0, 5.0]}))
    node = {"resource_type": "model", "config": {"materialized": "table"}}
    manifest = {
        "sources": {
            "source.x.prices": {
                "relation_name": '"nexus"."src_x"."prices"',
                "meta": {"plugin": "delta", "delta_table_path": str(source)},
            }
        },
        "nodes": {  # the mart comes first in the file: the order must come from depends_on
            "model.x.mart": {
                **node,
                "relation_name": '"nexus"."marts"."mart"',
                "depends_on": {"nodes": ["model.x.stg"]},
                "compiled_code": 'select symbol, max(close) as top from "nexus"."staging"."stg" group by 1',
            },
            "model.x.stg": {
                **node,
                "config": {"materialized": "view"},
                "relation_name": '"nexus"."staging"."stg"',
                "depends_on": {"nodes": []},
                "compiled_code": 'select * from "nexus"."src_x"."prices"',
            },
            "test.x.not_null": {
                "resource_type": "test",
                "unique_id": "test.x.not_null",
                "depends_on": {"nodes": ["model.x.mart"]},
                "compiled_code": 'select * from "nexus"."marts"."mart" where top is null',
            },
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    timings = run_compiled(tmp_path / "manifest.json", tmp_path / "direct" / "nexus.duckdb")
    assert set(timings) == {"sources", "models", "tests"}
    con = duckdb.connect(str(tmp_path / "direct" / "nexus.duckdb"), read_only=True)
    assert con.execute('select * from "nexus"."marts"."mart" order by 1').fetchall() == [("A", 2.0), ("B", 5.0)]
    con.close()


def test_step_timings_come_from_the_event_log():
    @asset
    def slow() -> int:
        time.sleep(0.3)
        return 1

    with DagsterInstance.ephemeral() as instance:
        assert materialize([slow], instance=instance).success
        timings = step_timings(instance)
    assert [s.step for s in timings.steps] == ["slow"]
    assert 0.3 <= timings.steps_seconds <= timings.runs_seconds
