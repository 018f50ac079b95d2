"""The marts build without dbt: DuckDB alone running the SQL dbt compiled, in the manifest's dependency order.

The same work as `dbt build` (models and data tests, no unit tests): the silver Delta sources loaded into DuckDB
tables the way the project's delta plugin does, each model created as its materialization says (incremental
models built whole, as in a full build), each data test's query run to the end. What is left out is dbt itself:
parsing, Jinja, the adapter's bookkeeping (temporary relations, renames, transactions), events and artifacts.
The difference between the two is dbt's overhead share.
"""

from __future__ import annotations

import graphlib
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.fs as pafs
from deltalake import DeltaTable

PROFILE_SETTINGS = {"TimeZone": "UTC", "asof_loop_join_threshold": 0}  # as dbt_project/profiles.yml


def _order(nodes: dict[str, dict[str, Any]]) -> list[str]:
    graph = {uid: [d for d in node["depends_on"]["nodes"] if d in nodes] for uid, node in nodes.items()}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _schemas(relations: list[str]) -> set[str]:
    return {".".join(rel.split(".")[:2]) for rel in relations}


def run_compiled(manifest_path: Path, duckdb_path: Path) -> dict[str, float]:
    """Build the marts from `manifest_path` (a manifest written by `dbt build`, so it holds compiled SQL) into a
    new DuckDB file named like dbt's (the catalog name is in the compiled SQL). Seconds per phase."""
    manifest = json.loads(manifest_path.read_text())
    models = {u: n for u, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    missing = [u for u, n in {**models, **{t["unique_id"]: t for t in tests}}.items() if not n.get("compiled_code")]
    if missing:
        raise ValueError(f"{len(missing)} nodes have no compiled SQL in {manifest_path} (first: {missing[0]})")
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    con = duckdb.connect(str(duckdb_path))
    try:
        for name, value in PROFILE_SETTINGS.items():
            con.execute(f"set {name} = '{value}'" if isinstance(value, str) else f"set {name} = {value}")
        sources = [s for s in manifest["sources"].values() if s.get("meta", {}).get("plugin") == "delta"]
        relations = [s["relation_name"] for s in sources] + [n["relation_name"] for n in models.values()]
        for schema in _schemas(relations):
            con.execute(f"create schema if not exists {schema}")

        started = time.perf_counter()
        for source in sources:
            path = source["meta"]["delta_table_path"]
            filesystem = pafs.SubTreeFileSystem(path, pafs.LocalFileSystem())
            dataset = DeltaTable(path).to_pyarrow_dataset(filesystem=filesystem)  # noqa: F841 (read by DuckDB)
            con.execute(f"create or replace table {source['relation_name']} as select * from dataset")
        timings["sources"] = time.perf_counter() - started

        started = time.perf_counter()
        for uid in _order(models):
            node = models[uid]
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            con.execute(f"create or replace {kind} {node['relation_name']} as (\n{node['compiled_code']}\n)")
        timings["models"] = time.perf_counter() - started

        started = time.perf_counter()
        for test in tests:
            con.execute(f"select count(*) from (\n{test['compiled_code']}\n) as dbt_test").fetchall()
        timings["tests"] = time.perf_counter() - started
    finally:
        con.close()
    return timings
