"""The delta-rs adapter: Spark writes Parquet, delta-rs commits it once; checked against delta-rs's own reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from resources.lake.delta import content_hash, read_table
from resources.lake.tables import SchemaEnforcementError, TableSpec, bitemporal_schema
from resources.spark.delta_io import DeltaRsAdapter, delta_io_for

SPEC = TableSpec(
    zone="silver",
    name="test/points",
    schema=bitemporal_schema(
        pa.field("series_id", pa.string(), nullable=False),
        pa.field("observed_date", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
    ),
    keys=("series_id", "observed_date"),
    date_column="observed_date",
    versioned=True,
)


def _rows(n: int, *, series: str = "A", value_offset: float = 0.0) -> pa.Table:
    ts = datetime(2024, 1, 2, 15, 30, tzinfo=UTC)
    return pa.Table.from_pylist(
        [
            {
                "series_id": series,
                "observed_date": date(2024, 1, 1 + i % 28),
                "value": None if i == 3 else float(i) + value_offset,
                "available_at": ts,
                "available_at_derived": False,
                "version": 1,
                "is_revision": False,
                "ingested_at": ts,
                "source_sha256": "ab" * 32,
            }
            for i in range(n)
        ],
        schema=SPEC.schema,
    )


def _frame(spark, rows: pa.Table):
    from resources.spark.delta_io import spark_schema

    return spark.createDataFrame(rows.to_pylist(), spark_schema(SPEC.schema))


def test_session_uses_the_adapter_without_delta_jars(spark, storage):
    assert isinstance(delta_io_for(spark, storage), DeltaRsAdapter)
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_roundtrip_and_overwrite_match_delta_rs(spark, storage):
    io = DeltaRsAdapter(spark, storage)
    uri = storage.uri("silver", "test", "points")
    first = _rows(20)
    stats = io.write(_frame(spark, first), uri, schema=SPEC.schema)
    assert stats.rows == 20 and stats.files >= 1
    assert content_hash(read_table(storage, uri)) == content_hash(first)
    back = pa.Table.from_pylist([r.asDict() for r in io.read(uri).collect()], schema=SPEC.schema)
    assert content_hash(back) == content_hash(first)

    second = _rows(12, series="B", value_offset=0.5)
    io.write(_frame(spark, second), uri, schema=SPEC.schema)
    assert content_hash(read_table(storage, uri)) == content_hash(second)  # overwrite removed the first files
    assert DeltaTable(uri).version() == 1  # one commit per write


def test_replace_where_keeps_rows_outside_the_predicate(spark, storage):
    io = DeltaRsAdapter(spark, storage)
    uri = storage.uri("silver", "test", "points")
    write_deltalake(uri, _rows(10))  # a table delta-rs wrote, as the nightly ingest leaves it
    new_b = _rows(5, series="B")
    io.write(_frame(spark, new_b), uri, schema=SPEC.schema, replace_where="series_id = 'B'")
    again = _rows(4, series="B", value_offset=9)
    io.write(_frame(spark, again), uri, schema=SPEC.schema, replace_where="series_id = 'B'")
    got = read_table(storage, uri)
    assert got.num_rows == 14
    assert content_hash(got) == content_hash(pa.concat_tables([_rows(10), _rows(4, series="B", value_offset=9)]))


def test_schema_mismatch_is_refused_and_the_table_stays_readable(spark, storage):
    from pyspark.sql import functions as F

    io = DeltaRsAdapter(spark, storage)
    uri = storage.uri("silver", "test", "points")
    io.write(_frame(spark, _rows(6)), uri, schema=SPEC.schema)
    version = DeltaTable(uri).version()
    bad = _frame(spark, _rows(6)).withColumn("value", F.col("value").cast("string"))
    with pytest.raises(SchemaEnforcementError, match="wrong types"):
        io.write(bad, uri, schema=SPEC.schema)
    extra = _frame(spark, _rows(6)).withColumn("surprise", F.lit(1))
    with pytest.raises(SchemaEnforcementError, match="unexpected"):
        io.write(extra, uri, schema=SPEC.schema)
    nulls = _frame(spark, _rows(6)).withColumn("source_sha256", F.lit(None).cast("string"))
    with pytest.raises(SchemaEnforcementError, match="nulls"):
        io.write(nulls, uri, schema=SPEC.schema)
    assert DeltaTable(uri).version() == version
    assert content_hash(read_table(storage, uri)) == content_hash(_rows(6))


def test_written_files_of_another_schema_are_never_committed(spark, storage, monkeypatch):
    """The last line of defence: the files on disk are checked before the commit, whatever the frame said."""
    import resources.spark.delta_io as delta_io

    io = DeltaRsAdapter(spark, storage)
    uri = storage.uri("silver", "test", "points")
    io.write(_frame(spark, _rows(6)), uri, schema=SPEC.schema)
    version = DeltaTable(uri).version()
    monkeypatch.setattr(delta_io, "check_frame", lambda df, schema, table: df.drop("value"))
    with pytest.raises(SchemaEnforcementError, match="nothing committed"):
        io.write(_frame(spark, _rows(6)), uri, schema=SPEC.schema)
    assert DeltaTable(uri).version() == version
    assert content_hash(read_table(storage, uri)) == content_hash(_rows(6))
    folders = {p.name for p in Path(uri).iterdir() if p.name.startswith("backfill-")}
    committed = {Path(f).relative_to(uri).parts[0] for f in DeltaTable(uri).file_uris()}
    assert folders == committed  # the refused files were deleted
