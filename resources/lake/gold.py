"""Gold: publish the dbt marts for readers outside dbt.

Two outputs, both safe to rebuild at any time:
- one Delta table per mart under gold/marts/ (readable by delta-rs, Polars, Spark, Athena, Trino);
- a read-only DuckDB file for analysts, built aside and swapped in with an atomic rename, so a reader sees the
  old file or the new one, never a half-built one, and never holds a lock the pipeline needs.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake

from resources.lake.delta import open_table
from resources.lake.storage import LakeStorage

PUBLISHED_SCHEMAS = ("marts",)


def _open_build(build_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the dbt build database read-only (dbt runs as a subprocess and has finished by now)."""
    return duckdb.connect(str(build_path), read_only=True)


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int
    uri: str
    written: bool = True  # False: the gold table already held exactly these rows, so no new Delta version


def same_rows(current: pa.Table, new: pa.Table) -> bool:
    """Whether two tables hold the same rows with the same schema, in any order (nested columns compared in the
    order given, which dbt keeps stable for the same inputs)."""
    if current.num_rows != new.num_rows or current.schema.names != new.schema.names:
        return False
    try:
        current = current.cast(new.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    flat = [f.name for f in new.schema if not pa.types.is_nested(f.type)]
    if flat and new.num_rows:
        keys = [(c, "ascending") for c in flat]
        current = current.take(pc.sort_indices(current, sort_keys=keys))
        new = new.take(pc.sort_indices(new, sort_keys=keys))
    return current.combine_chunks().equals(new.combine_chunks())


def mart_tables(build_path: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> list[tuple[str, str]]:
    with _open_build(build_path) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' order by 1, 2",
            [list(schemas)],
        ).fetchall()
    return [(s, t) for s, t in rows]


def publish_to_delta(storage: LakeStorage, build_path: Path, tables: list[tuple[str, str]]) -> list[PublishedTable]:
    """Overwrite gold/<schema>/<table> with each mart's current content, unless it holds exactly that already:
    an unchanged mart gets no new Delta version, so readers and the stages downstream see nothing new."""
    published = []
    with _open_build(build_path) as con:
        for schema, name in tables:
            data = con.sql(f'select * from "{schema}"."{name}"').to_arrow_table()
            uri = storage.uri("gold", schema, name)
            current = open_table(storage, uri)
            if current is not None and same_rows(current.to_pyarrow_table(), data):
                published.append(PublishedTable(schema, name, data.num_rows, uri, written=False))
                continue
            write_deltalake(
                uri,
                data,
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=storage.storage_options or None,
            )
            published.append(PublishedTable(schema, name, data.num_rows, uri))
    return published


def publish_duckdb_file(build_path: Path, published_path: Path, tables: list[tuple[str, str]]) -> Path:
    """Copy the marts into a fresh DuckDB file next to `published_path`, then rename it into place."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = published_path.with_name(f".{published_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with _open_build(build_path) as src, duckdb.connect(str(tmp)) as dst:
            for schema in sorted({s for s, _ in tables}):
                dst.execute(f'create schema if not exists "{schema}"')
            for schema, name in tables:
                data = src.sql(f'select * from "{schema}"."{name}"').to_arrow_table()  # noqa: F841
                dst.execute(f'create table "{schema}"."{name}" as select * from data')
            dst.execute("checkpoint")
        os.replace(tmp, published_path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return published_path
