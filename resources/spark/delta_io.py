"""Spark's one door to Delta tables: native `format("delta")` where the session has Delta, delta-rs otherwise.

Job code calls `delta_io_for(spark, storage)` and uses `read`/`write`; it never knows which engine it got.

- `NativeDelta` (EMR Serverless: Delta 3.3.0's jars and extensions are in the session) reads and writes with
  `format("delta")`; a predicate overwrite is Delta's `replaceWhere`.
- `DeltaRsAdapter` (here, where Delta's jars cannot be downloaded): reads the table's current files
  (`DeltaTable.file_uris()`) with the table's schema; writes Parquet from the executors into a fresh folder under
  the table, checks every written file's schema against the table's, and only then commits all the files in one
  delta-rs write transaction (add actions, plus remove actions for an overwrite). A file of the wrong schema is
  deleted and never committed: an unchecked commit of mismatched files corrupts the table.

Both check the DataFrame against the table contract first (names and Spark types, no implicit casts), so a
mismatch is refused the same way on either engine. Both take an `audit`, the write-audit-publish gate: it gets the
candidate table (the whole table as it would read after the write, as Arrow) before anything is committed, raises
to refuse the write (the table keeps its version; the adapter deletes its staged files) and returns the commit's
metadata. The adapter audits the very files it is about to commit. A `frame_audit` gets the same candidate as a
Spark DataFrame instead, for checks that run as Spark aggregates (no candidate row reaches the driver).
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from resources.lake.storage import LakeStorage
from resources.lake.tables import SchemaEnforcementError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

WriteMode = Literal["overwrite", "append"]
Audit = Callable[[pa.Table], Mapping[str, str]]
FrameAudit = Callable[["DataFrame"], Mapping[str, str]]


@dataclass(frozen=True)
class WriteStats:
    """What one Spark write committed."""

    rows: int
    files: int
    engine: str


class SparkDelta(Protocol):
    """Read and write Delta tables from Spark, whichever engine is underneath."""

    engine: str

    def read(self, uri: str, schema: pa.Schema | None = None) -> DataFrame: ...

    def write(
        self,
        df: DataFrame,
        uri: str,
        *,
        schema: pa.Schema,
        mode: WriteMode = "overwrite",
        replace_where: str | None = None,
        audit: Audit | None = None,
        audit_columns: Sequence[str] | None = None,
        frame_audit: FrameAudit | None = None,
    ) -> WriteStats: ...


def spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of an Arrow table contract (view and large string types read as plain strings)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    plain = pa.schema([pa.field(f.name, _plain_type(f.type), f.nullable) for f in schema])
    return from_arrow_schema(plain)


def _plain_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    return dtype


def check_frame(df: DataFrame, schema: pa.Schema, table: str) -> DataFrame:
    """`df` with the contract's column order, or SchemaEnforcementError: same names, same Spark types, no casts."""
    expected = spark_schema(schema)
    got = {f.name: f.dataType for f in df.schema.fields}
    want = {f.name: f.dataType for f in expected.fields}
    missing = [n for n in want if n not in got]
    extra = [n for n in got if n not in want]
    wrong = [
        f"{n}: {got[n].simpleString()} != {want[n].simpleString()}" for n in want if n in got and got[n] != want[n]
    ]
    if missing or extra or wrong:
        raise SchemaEnforcementError(
            f"{table}: DataFrame does not match the table contract (missing={missing}, unexpected={extra},"
            f" wrong types={wrong})"
        )
    return df.select(*[f.name for f in expected.fields])


def _check_not_null(df: DataFrame, schema: pa.Schema, table: str) -> None:
    from pyspark.sql import functions as F

    required = [f.name for f in schema if not f.nullable]
    if not required:
        return
    counts = df.select(*[F.sum(F.col(c).isNull().cast("long")).alias(c) for c in required]).first()
    nulls = [c for c in required if counts is not None and (counts[c] or 0) > 0]
    if nulls:
        raise SchemaEnforcementError(f"{table}: nulls in non-nullable columns {nulls}")


class NativeDelta:
    """Delta through Spark's own `format("delta")` (a session with delta-spark's extension and jars)."""

    engine = "delta-spark"

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def read(self, uri: str, schema: pa.Schema | None = None) -> DataFrame:
        if not DeltaTable.is_deltatable(uri) and schema is not None and not uri.startswith("s3"):
            return self.spark.createDataFrame([], spark_schema(schema))
        return self.spark.read.format("delta").load(uri)

    def write(
        self,
        df: DataFrame,
        uri: str,
        *,
        schema: pa.Schema,
        mode: WriteMode = "overwrite",
        replace_where: str | None = None,
        audit: Audit | None = None,
        audit_columns: Sequence[str] | None = None,
        frame_audit: FrameAudit | None = None,
    ) -> WriteStats:
        df = check_frame(df, schema, uri)
        _check_not_null(df, schema, uri)
        writer = df.write.format("delta").mode(mode)
        if replace_where:
            writer = writer.option("replaceWhere", replace_where)
        if audit is not None or frame_audit is not None:
            exists = DeltaTable.is_deltatable(uri) or uri.startswith("s3")
            candidate = df
            if exists and (mode == "append" or replace_where):
                current = self.read(uri, schema)
                kept = current if mode == "append" else current.where(f"NOT ({replace_where})")
                candidate = check_frame(kept, schema, uri).unionByName(df)
            if frame_audit is not None:
                writer = writer.option("userMetadata", json.dumps(dict(frame_audit(candidate))))
                writer.save(uri)
                return self._stats(uri)
            assert audit is not None
            columns = list(audit_columns) if audit_columns is not None else schema.names
            plain = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in schema if f.name in columns])
            collected = candidate.select(*plain.names).toPandas()  # only the audited columns reach the driver
            metadata = audit(pa.Table.from_pandas(collected, schema=plain, preserve_index=False))
            writer = writer.option("userMetadata", json.dumps(dict(metadata)))
        writer.save(uri)
        return self._stats(uri)

    def _stats(self, uri: str) -> WriteStats:
        from delta.tables import DeltaTable as SparkDeltaTable

        metrics = SparkDeltaTable.forPath(self.spark, uri).history(1).select("operationMetrics").first()
        op = (metrics[0] if metrics else None) or {}
        return WriteStats(int(op.get("numOutputRows", 0)), int(op.get("numFiles", 0)), self.engine)


class DeltaRsAdapter:
    """Delta from Spark through delta-rs: Parquet written by the executors, one delta-rs commit of those files."""

    engine = "delta-rs"

    def __init__(self, spark: SparkSession, storage: LakeStorage) -> None:
        self.spark = spark
        self.storage = storage

    def _open(self, uri: str) -> DeltaTable | None:
        try:
            return DeltaTable(uri, storage_options=self.storage.storage_options or None)
        except TableNotFoundError:
            return None

    def read(self, uri: str, schema: pa.Schema | None = None) -> DataFrame:
        """The table's current rows, typed by the table's own schema (or `schema` for a table not yet made)."""
        table = self._open(uri)
        if table is None:
            if schema is None:
                raise FileNotFoundError(f"no Delta table at {uri}")
            return self.spark.createDataFrame([], spark_schema(schema))
        if table.metadata().partition_columns:
            raise NotImplementedError(f"{uri}: partitioned tables are not read through the delta-rs adapter")
        struct = spark_schema(pa.schema(table.schema().to_arrow()))
        files = table.file_uris()
        if not files:
            return self.spark.createDataFrame([], struct)
        return self.spark.read.schema(struct).parquet(*files)

    def write(
        self,
        df: DataFrame,
        uri: str,
        *,
        schema: pa.Schema,
        mode: WriteMode = "overwrite",
        replace_where: str | None = None,
        audit: Audit | None = None,
        audit_columns: Sequence[str] | None = None,
        frame_audit: FrameAudit | None = None,
    ) -> WriteStats:
        """Write `df` as the table's new content (overwrite), added rows (append), or the rows matching
        `replace_where` (the rows outside it are kept: rewritten into the new files, the old files removed).

        The files are staged (written, schema-checked, audited) before the one commit that makes them visible. The
        audit gets the candidate's `audit_columns` only (all columns when None), read from the staged files; a
        `frame_audit` gets the staged files as a Spark DataFrame (plus the current rows for an append)."""
        df = check_frame(df, schema, uri)  # nulls are checked on the written files' statistics: no extra Spark job
        table = self._open(uri)
        if table is not None and table.metadata().partition_columns:
            raise NotImplementedError(f"{uri}: partitioned tables are not written through the delta-rs adapter")
        if replace_where and table is not None and mode == "overwrite":
            kept = self.read(uri).where(f"NOT ({replace_where})")
            df = check_frame(kept, schema, uri).unionByName(df)
        folder = f"backfill-{uuid.uuid4().hex}"
        target = posixpath.join(uri.rstrip("/"), folder)
        df.write.mode("errorifexists").parquet(_spark_path(target))
        adds = self._checked_adds(uri, folder, schema)
        properties = None
        if frame_audit is not None:
            try:
                staged = self.spark.read.schema(spark_schema(schema)).parquet(_spark_path(target))
                if mode == "append" and table is not None:
                    staged = staged.unionByName(self.read(uri))
                properties = CommitProperties(custom_metadata=dict(frame_audit(staged)))
            except Exception:
                self.storage.filesystem.delete_dir(self.storage.fs_path(target))
                raise
        elif audit is not None:
            try:
                candidate = self._candidate(uri, folder, schema, mode, audit_columns)
                properties = CommitProperties(custom_metadata=dict(audit(candidate)))
            except Exception:
                self.storage.filesystem.delete_dir(self.storage.fs_path(target))
                raise
        if table is None:
            create_table_with_add_actions(
                uri,
                _delta_schema(schema),
                adds,
                mode="overwrite" if mode == "overwrite" else "append",
                storage_options=self.storage.storage_options or None,
                commit_properties=properties,
            )
        else:
            table.create_write_transaction(adds, mode=mode, schema=_delta_schema(schema), commit_properties=properties)
        return WriteStats(sum(json.loads(a.stats)["numRecords"] for a in adds), len(adds), self.engine)

    def _candidate(
        self, uri: str, folder: str, schema: pa.Schema, mode: WriteMode, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """The table as it would read after committing the staged `folder` (its `columns`, all when None): its files
        (plus, for an append, the table's current rows)."""
        fs, root = self.storage.filesystem, self.storage.fs_path(posixpath.join(uri.rstrip("/"), folder))
        wanted = list(columns) if columns is not None else schema.names
        plain = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in schema if f.name in wanted])
        paths = sorted(
            i.path
            for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
            if i.type == pafs.FileType.File and i.path.endswith(".parquet")
        )
        parts = [pq.read_table(path, columns=plain.names, filesystem=fs).cast(plain) for path in paths]
        table = self._open(uri)
        if mode == "append" and table is not None:
            parts.append(table.to_pyarrow_table(columns=plain.names).cast(plain))
        return pa.concat_tables(parts) if parts else plain.empty_table()

    def _checked_adds(self, uri: str, folder: str, schema: pa.Schema) -> list[AddAction]:
        """Add actions for the Parquet files Spark wrote, after checking each file's schema; on a mismatch the
        files are deleted and nothing is committed."""
        fs, root = self.storage.filesystem, self.storage.fs_path(posixpath.join(uri.rstrip("/"), folder))
        infos = [
            i
            for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
            if i.type == pafs.FileType.File and i.path.endswith(".parquet")
        ]
        want = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in schema])
        required = [f.name for f in schema if not f.nullable]
        adds: list[AddAction] = []
        try:
            for info in infos:
                meta = pq.read_metadata(info.path, filesystem=fs)
                got = meta.schema.to_arrow_schema()
                got = pa.schema([pa.field(f.name, _plain_type(f.type)) for f in got])
                if not got.equals(want):
                    raise SchemaEnforcementError(
                        f"{uri}: written file {posixpath.basename(info.path)} has schema {got}, table has {want};"
                        " nothing committed"
                    )
                nulls = [c for c in required if _null_count(meta, info.path, c, fs)]
                if nulls:
                    raise SchemaEnforcementError(f"{uri}: nulls in non-nullable columns {nulls}; nothing committed")
                if meta.num_rows == 0:
                    continue
                relative = posixpath.join(folder, posixpath.relpath(info.path, root))
                adds.append(
                    AddAction(
                        path=relative,
                        size=info.size,
                        partition_values={},
                        modification_time=int(info.mtime_ns // 1_000_000) if info.mtime_ns else 0,
                        data_change=True,
                        stats=json.dumps({"numRecords": meta.num_rows}),
                    )
                )
        except Exception:
            fs.delete_dir(root)
            raise
        return adds


def _null_count(meta: pq.FileMetaData, path: str, column: str, fs: pafs.FileSystem) -> int:
    """Nulls in one column of a written file: from its row groups' statistics, or by reading the column when a
    row group has none."""
    index = next(i for i in range(meta.num_columns) if meta.schema.column(i).path == column)
    total = 0
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or not stats.has_null_count:
            return pq.read_table(path, columns=[column], filesystem=fs)[column].null_count
        total += stats.null_count
    return total


def _delta_schema(schema: pa.Schema) -> DeltaSchema:
    return DeltaSchema.from_arrow(pa.schema([pa.field(f.name, _plain_type(f.type), f.nullable) for f in schema]))


def _spark_path(uri: str) -> str:
    """Spark's name for a lake location (s3:// becomes s3a:// for Hadoop's S3 connector)."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def delta_io_for(spark: SparkSession, storage: LakeStorage) -> SparkDelta:
    """The Delta engine this session can use: native where Delta is loaded, delta-rs otherwise."""
    from resources.spark.session import has_native_delta

    return NativeDelta(spark) if has_native_delta(spark) else DeltaRsAdapter(spark, storage)
