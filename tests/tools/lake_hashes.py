"""A content hash of every table of a lake, to prove that a refactor changes nothing in what it builds.

What is hashed, and how, so that two builds of the same inputs hash the same:
- each Delta table (every folder holding `_delta_log`, in every zone): its column names and types, its row count,
  and its rows as a multiset (row order and file layout do not count; rows are hashed one by one in DuckDB, md5,
  and summed, so a table of any size hashes in constant memory);
- every other file under the lake root (bronze payloads, which are content-addressed, gold documents, feed files):
  its bytes' sha256; a JSON document is hashed in canonical form (keys sorted);
- each table of a DuckDB file (the marts: the files given, and any `.duckdb` file in the lake), like a Delta table
  (a DuckDB file's bytes differ from build to build).
Not hashed, because they record when, where, by which run or with which code a build ran rather than what it
built (what a refactor must leave unchanged):
- Delta logs and lock files;
- the models' caches (gold/models/_cache: fitted regimes and models, the signals history): memoized state keyed by
  inputs, code and configuration, whose content the tables built from it already show, and whose key changes with
  any edit of the code it hashes;
- columns and JSON keys in `BUILD_RECORD`: ingestion, delivery, creation and generation times, run ids, the stage
  records' and the dbt build's fingerprints (they hash the code and the folders), a persona recommendation's id
  (md5 of its content, signal run ids included) and a feed delivery's `content_sha256` (over files holding run ids);
  and any column or key naming an ingestion time (`source_ingested_through`);
- in JSON documents, a feed manifest's `sha256` and `bytes` of each file (the files are hashed themselves);
- in text (strings, lists and JSON held in a column, JSON documents, the PDF's text): the port of a server on
  127.0.0.1 (the simulated publisher listens on a free port each run, and bronze's manifest keeps the URL fetched),
  run ids (UUIDs: `<run>`), recommendation ids (32 hex digits: `<id>`) and the folders the build was made in
  (`hash_build` writes `<lake>` and `<feeds>`: a delivery's `manifest_uri` names the feeds root).
A whole `nexus run` (ingest, marts, models, signals, ledger, personas, the PDF report, feeds) hashes the same build
after build (two runs with the same settings in two folders: identical): `hash_build` covers the lake, the feeds
root (as `feeds/...`, its Parquet, CSV and JSON-lines files hashed as tables) and both DuckDB files; a PDF is
hashed by its text (reportlab's invariant mode keeps its layout fixed, but it prints the recommendation ids).
Floats are hashed rounded to 12 significant digits (`format('{:.12g}')`): sums computed on several threads (DuckDB
aggregates, LightGBM) may differ in their last bits from one build to the next; 12 digits are far above that noise
and far below any change a refactor could make on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import posixpath
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

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
        "generated_at",
        # digests of what a build ran with or of content that holds run ids: the stage records' and the dbt
        # build's fingerprints (code, config and folders), a persona recommendation's id (md5 of its content,
        # signal run ids included) and a feed delivery's content digest (over files holding run ids)
        "fingerprint",
        "project_fingerprint",
        "recommendation_id",
        "content_sha256",
    }
)
# In JSON documents only: a feed manifest's digest and size of each file (the files are hashed themselves, as
# tables; a Parquet file's bytes vary with the run ids it holds)
FILE_DIGESTS = frozenset({"sha256", "bytes"})
# Feed files read and hashed as tables (rows as a multiset, run ids left out), not as bytes
TABULAR = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json"}
# A recommendation id (see `recommendation_id` above) where text refers to it: persona documents' and tables'
# references, the PDF report; written `<id>` in text
PRINTED_ID = re.compile(r"\b[0-9a-f]{32}\b")
PRINTED_ID_SQL = r"\b[0-9a-f]{32}\b"
# A run id (a UUID) quoted in text: a recommendation's payload, an audit row's references; written `<run>`
RUN_ID = r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
SKIPPED_FOLDERS = ("_delta_log", "_locks", "_cache")
LOCAL_PORT = r"//127\.0\.0\.1:[0-9]+"
FLOAT_DIGITS = 12
UPDATE_ENV = "UPDATE_SNAPSHOTS"
NO_PLACES: Mapping[str, str] = MappingProxyType({})


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


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_text(name: str, kind: str, places: Mapping[str, str]) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind.upper() in {"DOUBLE", "FLOAT", "REAL"}:
        return f"coalesce(format('{{:.{FLOAT_DIGITS}g}}', {quoted}), '\\N')"
    text = quoted if kind.upper() == "VARCHAR" else f"cast({quoted} as varchar)"
    if not _is_plain(kind):  # text, lists, structs, JSON: what a run writes of itself is masked
        for pattern, placeholder in ((LOCAL_PORT, "//127.0.0.1:PORT"), (PRINTED_ID_SQL, "<id>"), (RUN_ID, "<run>")):
            text = f"regexp_replace({text}, '{pattern}', '{placeholder}', 'g')"
        for folder, placeholder in places.items():
            text = f"replace({text}, {_sql_text(folder)}, {_sql_text(placeholder)})"
    return f"coalesce({text}, '\\N')"


def _is_plain(kind: str) -> bool:
    """A number, date, time or boolean column: no text inside it to mask."""
    return not any(word in kind.upper() for word in ("VARCHAR", "[]", "STRUCT", "MAP", "JSON", "UNION"))


def relation_hash(con: duckdb.DuckDBPyConnection, relation: str, places: Mapping[str, str] = NO_PLACES) -> TableHash:
    """The hash of a DuckDB relation: its schema, its row count and its rows as a multiset, build columns left out
    (`places`: folder -> placeholder, written in text in the folder's place)."""
    columns = [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]
    kept = [(name, kind) for name, kind in columns if not is_build_record(name)]
    texts = ", ".join(_column_text(name, kind, places) for name, kind in kept)
    row = f"concat_ws(chr(31), {texts})" if kept else "''"
    count, upper, lower = con.execute(
        f"select count(*), coalesce(sum(md5_number_upper({row})), 0), coalesce(sum(md5_number_lower({row})), 0) "
        f"from {relation}"
    ).fetchone()
    schema = ";".join(f"{name}:{kind}" for name, kind in kept)
    return TableHash(rows=count, digest=hashlib.sha256(f"{schema}|{count}|{upper}|{lower}".encode()).hexdigest())


def arrow_hash(data: pa.Table, places: Mapping[str, str] = NO_PLACES) -> TableHash:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("data", data)
        return relation_hash(con, "data", places)


def canonical(name: str, data: bytes, places: Mapping[str, str] = NO_PLACES) -> bytes:
    if name.endswith(".json"):
        return json.dumps(_without_build_record(json.loads(data), places), sort_keys=True).encode()
    if name.endswith(".pdf"):
        return _in_place(_pdf_text(data), places).encode()
    for folder, placeholder in places.items():
        data = data.replace(folder.encode(), placeholder.encode())
    return data


def _pdf_text(data: bytes) -> str:
    """What a reader sees, page by page (the bytes embed the recommendation ids, which hold run ids)."""
    import pypdf

    return "\f".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def tabular_hash(name: str, data: bytes, places: Mapping[str, str] = NO_PLACES) -> TableHash:
    """A feed file (Parquet, CSV, JSON lines) hashed as the table it holds."""
    suffix = Path(name).suffix
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data)
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create view data as select * from {TABULAR[suffix]}('{path}')")
        return relation_hash(con, "data", places)


def _in_place(text: str, places: Mapping[str, str]) -> str:
    text = PRINTED_ID.sub("<id>", re.sub(LOCAL_PORT, "//127.0.0.1:PORT", text))
    text = re.sub(RUN_ID, "<run>", text)
    for folder, placeholder in places.items():
        text = text.replace(folder, placeholder)
    return text


def _without_build_record(value: object, places: Mapping[str, str] = NO_PLACES) -> object:
    if isinstance(value, dict):
        return {
            k: _without_build_record(v, places)
            for k, v in value.items()
            if not is_build_record(k) and k not in FILE_DIGESTS
        }
    if isinstance(value, list):
        return [_without_build_record(v, places) for v in value]
    return _in_place(value, places) if isinstance(value, str) else value


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


def duckdb_hashes(file: Path, places: Mapping[str, str] = NO_PLACES) -> dict[str, TableHash]:
    """Every base table of a DuckDB file (views are queries, not contents), as `file name:schema.table`."""
    with duckdb.connect(str(file), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        found = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "order by 1, 2"
        ).fetchall()
        return {
            f"{file.name}:{schema}.{name}": relation_hash(con, f'"{schema}"."{name}"', places) for schema, name in found
        }


def hash_lake(
    storage: LakeStorage,
    duckdb_files: Iterable[Path] = (),
    places: Mapping[str, str] = NO_PLACES,
    *,
    tabular: bool = False,
) -> LakeHashes:
    """Every Delta table and file of the lake at `storage`, and every table of the DuckDB files given
    (`places`: folder -> placeholder, written in text in the folder's place; `tabular`: Parquet, CSV and JSON-lines
    files hashed as tables, for a feeds root; a lake's bronze payloads are always hashed byte for byte)."""
    hashes = LakeHashes()
    root = storage.root_uri.rstrip("/")
    tables = [uri for zone in ZONES for uri in storage.list_delta_tables(zone)]
    for uri in tables:
        table = open_table(storage, uri)
        if table is not None:
            hashes.tables[posixpath.relpath(storage.fs_path(uri), storage.fs_path(root))] = arrow_hash(
                scan(storage, table, uri), places
            )
    for name, path in _lake_files(storage, tables):
        with storage.filesystem.open_input_stream(path) as stream:
            data = stream.read()
        if tabular and Path(name).suffix in TABULAR:
            hashes.tables[name] = tabular_hash(name, data, places)
        else:
            hashes.files[name] = hashlib.sha256(canonical(name, data, places)).hexdigest()
    in_lake = [] if storage.is_s3 else sorted(Path(storage.fs_path(root)).rglob("*.duckdb"))
    for file in dict.fromkeys([*duckdb_files, *in_lake]):
        hashes.tables.update(duckdb_hashes(Path(file), places))
    hashes.tables = dict(sorted(hashes.tables.items()))
    hashes.files = dict(sorted(hashes.files.items()))
    return hashes


def hash_build(lake: LakeStorage, feeds_uri: str, duckdb_files: Iterable[Path]) -> LakeHashes:
    """A whole build: the lake, the client feeds' root (its files as `feeds/...`, or nothing when it lies inside the
    lake) and the DuckDB files, with the lake's and the feeds' folders written `<lake>` and `<feeds>`."""
    feeds_inside = feeds_uri.rstrip("/").startswith(lake.root_uri.rstrip("/") + "/")
    places = {feeds_uri.rstrip("/"): "<feeds>", lake.root_uri.rstrip("/"): "<lake>"}
    hashes = hash_lake(lake, duckdb_files, places)
    if not feeds_inside:
        feeds_root = LakeStorage(root_uri=feeds_uri, storage_options=lake.storage_options)
        feeds = hash_lake(feeds_root, (), places, tabular=True)
        hashes.tables.update({f"feeds/{name}": value for name, value in feeds.tables.items()})
        hashes.files.update({f"feeds/{name}": value for name, value in feeds.files.items()})
    hashes.tables = dict(sorted(hashes.tables.items()))
    hashes.files = dict(sorted(hashes.files.items()))
    return hashes


def snapshot_differences(hashes: LakeHashes, snapshot: Path) -> list[str]:
    """What differs from the recorded `snapshot`; with UPDATE_SNAPSHOTS set, `hashes` are recorded first."""
    if os.environ.get(UPDATE_ENV):
        snapshot.write_text(hashes.model_dump_json(indent=1) + "\n")
    return LakeHashes.model_validate_json(snapshot.read_text()).differences(hashes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", help="lake root URI (default: the settings' NEXUS_LAKE_URI)")
    parser.add_argument("--feeds", help="feeds root URI, hashed as feeds/... with both roots as placeholders")
    parser.add_argument("--duckdb", type=Path, action="append", default=None, help="a DuckDB file (repeatable)")
    parser.add_argument("--write", type=Path, help="write the manifest (JSON) here")
    parser.add_argument("--compare", type=Path, help="compare with a manifest written before; exit 1 if different")
    args = parser.parse_args(argv)
    from resources.settings import get_settings  # the edge: settings only when no lake was named

    settings = get_settings() if args.lake is None or args.duckdb is None else None
    storage = LakeStorage(root_uri=args.lake) if args.lake else LakeStorage.from_settings(settings)
    duckdb_files = args.duckdb if args.duckdb is not None else [settings.duckdb_path, settings.published_duckdb_path]
    present = [f for f in duckdb_files if Path(f).exists()]
    hashes = hash_build(storage, args.feeds, present) if args.feeds else hash_lake(storage, present)
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
