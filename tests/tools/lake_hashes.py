"""A content hash of every table of a lake, to prove that a refactor changes nothing in what it builds.

What is hashed, and how, so that two builds of the same inputs hash the same:
- each Delta table (every folder holding `_delta_log`, in every zone): its column names and types, its row count,
  and its rows as a multiset (row order and file layout do not count; rows are hashed one by one in DuckDB, md5,
  and summed, so a table of any size hashes in constant memory);
- every other file under the lake root (bronze payloads, which are content-addressed, gold documents, feed files):
  its bytes' sha256; a JSON document is hashed in canonical form (keys sorted);
- each table of a DuckDB file (the marts: the files given, and any `.duckdb` file in the lake), like a Delta table
  (a DuckDB file's bytes differ from build to build).
Not hashed, because they record when and by which run a build ran rather than what it built: Delta logs, lock
files, the columns and JSON keys in `BUILD_RECORD` (ingestion and delivery times, run ids) or naming an ingestion
time (`source_ingested_through`); and in text, the port of a server on 127.0.0.1 (the simulated publisher listens
on a free port each run, and bronze's manifest keeps the URL fetched).
Floats are hashed rounded to 12 significant digits (`format('{:.12g}')`): sums computed on several threads (DuckDB
aggregates, LightGBM) may differ in their last bits from one build to the next; 12 digits are far above that noise
and far below any change a refactor could make on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
from pydantic import BaseModel

from resources.lake.delta import open_table, scan
from resources.lake.storage import ZONES, LakeStorage

BUILD_RECORD = frozenset(
    {
        "ingested_at",
        "fetched_at",
        "run_id",
        "quarantined_at",
        "delivered_at",
        "checked_at",
        "recorded_at",
        "created_at",
        "validated_by_run",
        "carried_from_run",
        "signal_run_ids",
    }
)
SKIPPED_FOLDERS = ("_delta_log", "_locks")
LOCAL_PORT = r"//127\.0\.0\.1:[0-9]+"
FLOAT_DIGITS = 12


class TableHash(BaseModel):
    rows: int
    digest: str


class LakeHashes(BaseModel):
    """Every table and file by its name relative to the lake root (DuckDB tables as `file:schema.table`)."""

    tables: dict[str, TableHash] = {}
    files: dict[str, str] = {}

    def differences(self, other: LakeHashes) -> list[str]:
        """One line per table or file added, removed or changed from `self` to `other`."""
        lines: list[str] = []
        for kind, mine, theirs in (("table", self.tables, other.tables), ("file", self.files, other.files)):
            for name in sorted(mine.keys() | theirs.keys()):
                if name not in theirs:
                    lines.append(f"{kind} {name}: removed")
                elif name not in mine:
                    lines.append(f"{kind} {name}: added")
                elif mine[name] != theirs[name]:
                    lines.append(f"{kind} {name}: changed ({mine[name]} -> {theirs[name]})")
        return lines


def is_build_record(name: str) -> bool:
    return name in BUILD_RECORD or "ingested" in name


def _column_text(name: str, kind: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind.upper() in {"DOUBLE", "FLOAT", "REAL"}:
        return f"coalesce(format('{{:.{FLOAT_DIGITS}g}}', {quoted}), '\\N')"
    if kind.upper() == "VARCHAR":
        return f"coalesce(regexp_replace({quoted}, '{LOCAL_PORT}', '//127.0.0.1:PORT', 'g'), '\\N')"
    return f"coalesce(cast({quoted} as varchar), '\\N')"


def relation_hash(con: duckdb.DuckDBPyConnection, relation: str) -> TableHash:
    """The hash of a DuckDB relation: its schema, its row count and its rows as a multiset, build columns left out."""
    columns = [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]
    kept = [(name, kind) for name, kind in columns if not is_build_record(name)]
    row = "concat_ws(chr(31), " + ", ".join(_column_text(name, kind) for name, kind in kept) + ")" if kept else "''"
    count, upper, lower = con.execute(
        f"select count(*), coalesce(sum(md5_number_upper({row})), 0), coalesce(sum(md5_number_lower({row})), 0) "
        f"from {relation}"
    ).fetchone()
    schema = ";".join(f"{name}:{kind}" for name, kind in kept)
    return TableHash(rows=count, digest=hashlib.sha256(f"{schema}|{count}|{upper}|{lower}".encode()).hexdigest())


def arrow_hash(data: pa.Table) -> TableHash:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("data", data)
        return relation_hash(con, "data")


def _canonical(name: str, data: bytes) -> bytes:
    if name.endswith(".json"):
        return json.dumps(_without_build_record(json.loads(data)), sort_keys=True).encode()
    return data


def _without_build_record(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_build_record(v) for k, v in value.items() if not is_build_record(k)}
    if isinstance(value, list):
        return [_without_build_record(v) for v in value]
    return re.sub(LOCAL_PORT, "//127.0.0.1:PORT", value) if isinstance(value, str) else value


def _lake_files(storage: LakeStorage, tables: Iterable[str]) -> Iterable[tuple[str, str]]:
    """(name relative to the lake root, path) of every file outside the Delta tables, logs and locks."""
    root = storage.fs_path(storage.root_uri.rstrip("/"))
    inside = tuple(storage.fs_path(uri).rstrip("/") + "/" for uri in tables)
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    for info in storage.filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or info.path.startswith(inside):
            continue
        name = posixpath.relpath(info.path, root)
        if not any(part in SKIPPED_FOLDERS for part in name.split("/")) and ".duckdb" not in info.base_name:
            yield name, info.path


def duckdb_hashes(file: Path) -> dict[str, TableHash]:
    """Every base table of a DuckDB file (views are queries, not contents), as `file name:schema.table`."""
    with duckdb.connect(str(file), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        found = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "order by 1, 2"
        ).fetchall()
        return {f"{file.name}:{schema}.{name}": relation_hash(con, f'"{schema}"."{name}"') for schema, name in found}


def hash_lake(storage: LakeStorage, duckdb_files: Iterable[Path] = ()) -> LakeHashes:
    """Every Delta table and file of the lake at `storage`, and every table of the DuckDB files given."""
    hashes = LakeHashes()
    root = storage.root_uri.rstrip("/")
    tables = [uri for zone in ZONES for uri in storage.list_delta_tables(zone)]
    for uri in tables:
        table = open_table(storage, uri)
        if table is not None:
            hashes.tables[posixpath.relpath(storage.fs_path(uri), storage.fs_path(root))] = arrow_hash(
                scan(storage, table, uri)
            )
    for name, path in _lake_files(storage, tables):
        with storage.filesystem.open_input_stream(path) as stream:
            hashes.files[name] = hashlib.sha256(_canonical(name, stream.read())).hexdigest()
    in_lake = [] if storage.is_s3 else sorted(Path(storage.fs_path(root)).rglob("*.duckdb"))
    for file in dict.fromkeys([*duckdb_files, *in_lake]):
        hashes.tables.update(duckdb_hashes(Path(file)))
    hashes.tables = dict(sorted(hashes.tables.items()))
    hashes.files = dict(sorted(hashes.files.items()))
    return hashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", help="lake root URI (default: the settings' NEXUS_LAKE_URI)")
    parser.add_argument("--duckdb", type=Path, action="append", default=None, help="a DuckDB file (repeatable)")
    parser.add_argument("--write", type=Path, help="write the manifest (JSON) here")
    parser.add_argument("--compare", type=Path, help="compare with a manifest written before; exit 1 if different")
    args = parser.parse_args(argv)
    from resources.settings import get_settings  # the edge: settings only when no lake was named

    settings = get_settings() if args.lake is None or args.duckdb is None else None
    storage = LakeStorage(root_uri=args.lake) if args.lake else LakeStorage.from_settings(settings)
    duckdb_files = args.duckdb if args.duckdb is not None else [settings.duckdb_path, settings.published_duckdb_path]
    hashes = hash_lake(storage, [f for f in duckdb_files if Path(f).exists()])
    print(f"{len(hashes.tables)} tables, {len(hashes.files)} files")
    if args.write:
        args.write.write_text(hashes.model_dump_json(indent=1) + "\n")
    if args.compare:
        differences = LakeHashes.model_validate_json(args.compare.read_text()).differences(hashes)
        for line in differences:
            print(line)
        print("identical" if not differences else f"{len(differences)} differences")
        return 1 if differences else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
