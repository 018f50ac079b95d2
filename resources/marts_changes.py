"""What a nightly marts build has to rebuild: the models downstream of a silver table that changed since the last
build, and nothing else.

The marts are a pure function of the silver tables, the dbt project and the settings it reads (no model reads the
clock). So after a successful build of the whole project the warehouse records each silver table's Delta version
and a fingerprint of the project; the next build compares and selects `source:<changed>+`. On a weekday that
skips COT (weekly), the reference tables, and EIA's weekly series on most days, with their tests. Anything
uncertain means a full build: no record, another project or settings fingerprint, a missing model table.

Safe by construction in one direction only, which is the one that matters: versions are read before dbt starts
and recorded only after it succeeds, so an ingest that lands during a build makes the record older than the
tables (the next build redoes a little work), never newer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dbt.contracts.graph.manifest import Manifest

from resources.lake.delta import open_table
from resources.lake.storage import LakeStorage

STATE_SCHEMA = "nexus_build"
STATE_TABLE = f"{STATE_SCHEMA}.source_versions"


@dataclass(frozen=True)
class BuildPlan:
    """`select` is None for a full build, [] when nothing needs building, else dbt selectors."""

    select: list[str] | None
    reason: str
    changed_sources: tuple[str, ...] = ()

    @property
    def is_full(self) -> bool:
        return self.select is None

    @property
    def is_noop(self) -> bool:
        return self.select == []


def source_tables(manifest: Manifest) -> dict[str, str]:
    """dbt source name (`cboe.index_closes`) -> its silver Delta table URI, from the parsed project."""
    tables = {}
    for source in manifest.sources.values():
        path = source.meta.get("delta_table_path") or source.config.meta.get("delta_table_path")
        if path:
            tables[f"{source.source_name}.{source.name}"] = str(path).rstrip("/")
    return tables


def source_versions(storage: LakeStorage, tables: dict[str, str]) -> dict[str, int | None]:
    """Each source's current Delta version (None when the table does not exist yet)."""
    versions: dict[str, int | None] = {}
    for name, uri in tables.items():
        table = open_table(storage, uri)
        versions[name] = None if table is None else table.version()
    return versions


def project_fingerprint(parse_key: tuple[object, ...]) -> str:
    return hashlib.sha256(repr(parse_key).encode()).hexdigest()[:16]


def model_relations(manifest: Manifest) -> set[tuple[str, str]]:
    """(schema, table) of every model the project materializes."""
    return {
        (node.schema, node.alias)
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.config.materialized != "ephemeral"
    }


def read_recorded(warehouse: Path) -> tuple[str, dict[str, int | None], set[tuple[str, str]]] | None:
    """(fingerprint, versions, existing relations) recorded in the warehouse, or None without a record."""
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = {
            (schema, name)
            for schema, name in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        }
        if (STATE_SCHEMA, "source_versions") not in relations:
            return None
        rows = con.execute(f"select source, delta_version, project_fingerprint from {STATE_TABLE}").fetchall()
    if not rows:
        return None
    fingerprints = {r[2] for r in rows}
    return (fingerprints.pop() if len(fingerprints) == 1 else ""), {r[0]: r[1] for r in rows}, relations


def plan_build(manifest: Manifest, current: dict[str, int | None], fingerprint: str, warehouse: Path) -> BuildPlan:
    recorded = read_recorded(warehouse)
    if recorded is None:
        return BuildPlan(None, "no record of an earlier build in this warehouse: full build")
    recorded_fingerprint, recorded_versions, relations = recorded
    if recorded_fingerprint != fingerprint:
        return BuildPlan(None, "the dbt project or the settings it reads changed since the last build: full build")
    missing = sorted(f"{s}.{t}" for s, t in model_relations(manifest) - relations)
    if missing:
        return BuildPlan(
            None, f"{len(missing)} model tables missing from the warehouse ({missing[0]}, ...): full build"
        )
    changed = tuple(
        sorted(name for name, version in current.items() if version is None or recorded_versions.get(name) != version)
    )
    if not changed:
        return BuildPlan([], "no silver table changed since the last build: nothing to rebuild")
    return BuildPlan(
        [f"source:{name}+" for name in changed],
        f"{len(changed)} of {len(current)} silver tables changed since the last build: {', '.join(changed)}",
        changed,
    )


def record_build(warehouse: Path, versions: dict[str, int | None], fingerprint: str) -> None:
    """After a successful build of the whole project: what it was built from."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create schema if not exists {STATE_SCHEMA}")
        con.execute(
            f"create or replace table {STATE_TABLE} "
            "(source varchar, delta_version bigint, project_fingerprint varchar, recorded_at timestamptz)"
        )
        con.executemany(
            f"insert into {STATE_TABLE} values (?, ?, ?, now())",
            [(name, version, fingerprint) for name, version in sorted(versions.items())],
        )
