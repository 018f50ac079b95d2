"""Backfill: re-derive a source's silver tables from all of its bronze payloads, on the local engine or on Spark.

Semantics (both engines, tested equal by content hash, bitemporal columns included):
- payloads are taken from the bronze manifest in the nightly path's order (`plans.landing_order`) and parsed by
  the project's own parsers; bad rows go to quarantine and the good ones land within the row policy, and a payload
  over the policy's limit, or that fails as a whole, is quarantined with none of its rows in silver (as in
  `sources.base.land_payloads`);
- rows merge as `lake.delta.merge_versioned` merges them one payload after another: a new key is version 1, a
  changed value a new version whose `available_at` is at least the payload's knowledge time, an equal value adds
  nothing;
- `ingested_at` is the backfill's own time (one value for the run), `source_sha256` the payload's hash;
- the result replaces the table in one commit: the whole table, or only the rows dated in [start, end];
- write-audit-publish: the commit is staged first and the table's blocking suite runs on the candidate (the table
  as it would read after the commit, `gate.audit`); a failing suite commits nothing, leaves the table at its
  previous Delta version and quarantines the refused payloads, and the table's error stops the run's result.

The local engine runs the nightly landing function itself (`land_collecting_errors`) into a scratch lake, then
publishes the table in one write; the Spark engine (`spark_job.backfill_spark`) does the same work in parallel.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Literal

import pyarrow as pa
from deltalake import CommitProperties, write_deltalake
from pydantic import BaseModel, Field

from resources.errors import QualityGateError
from resources.lake.bronze import manifest_for, object_location
from resources.lake.delta import ensure_table, insert_new, open_table, read_table, table_uri
from resources.lake.quarantine import QUARANTINE
from resources.lake.storage import LakeStorage
from resources.lake.tables import conform
from resources.lake.write_lock import source_write_lock
from resources.quality.row_policy import RowPolicy
from resources.sources.base import IngestReport, land_collecting_errors
from resources.sources.staging import GATE_METADATA_KEY
from resources.spark.gate import audit, outside_range, quarantine_batch
from resources.spark.plans import TablePlan, landing_order, payload_of, plans_for, range_predicate

log = logging.getLogger(__name__)
Engine = Literal["local", "spark"]
CHUNK_BYTES = 64 * 1024 * 1024  # payload bytes the local engine stages at once


class TableBackfill(BaseModel):
    table: str
    payloads: int
    rows: int
    files: int
    quarantined_payloads: int = 0
    seconds: float
    committed: bool = True
    gate: str = Field(default="", description="the blocking suite's verdict, or why it refused the commit")


class BackfillResult(BaseModel):
    """What one backfill did, per table; shown by the CLI and attached to the Dagster materialization."""

    source: str
    engine: Engine
    delta_engine: str
    start: date | None = None
    end: date | None = None
    ingested_at: datetime
    tables: list[TableBackfill] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def files(self) -> int:
        return sum(t.files for t in self.tables)


def source_manifest(storage: LakeStorage, source: str, plan: TablePlan) -> list[dict]:
    """The manifest rows of the payloads that feed `plan`'s table, in landing order."""
    rows = [r for r in manifest_for(storage, source).to_pylist() if plan.selects(r)]
    return landing_order(rows)


def payload_chunks(rows: list[dict], chunk_bytes: int) -> Iterator[list[dict]]:
    """Manifest rows in landing order, cut into runs of at most `chunk_bytes` of payload (a larger payload alone).

    Landing the runs one after another equals landing them at once: the merge is sequential, payload after
    payload, and each run is committed to the scratch table before the next is planned against it."""
    chunk: list[dict] = []
    size = 0
    for row in rows:
        if chunk and size + row["bytes"] > chunk_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row["bytes"]
    if chunk:
        yield chunk


TableBuilder = Callable[[TablePlan, datetime], tuple[TableBackfill, list[str], str]]


def backfill_tables(
    source: str,
    engine: Engine,
    build: TableBuilder,
    *,
    start: date | None,
    end: date | None,
    ingested_at: datetime | None,
) -> BackfillResult:
    """What both engines share: one backfill time for the run, every table of `source` in landing order, the
    summary. `build(plan, ingested_at)` rebuilds one table and returns its summary, errors and Delta engine."""
    ingested_at = ingested_at or datetime.now(UTC)
    began = time.perf_counter()
    result = BackfillResult(
        source=source, engine=engine, delta_engine="?", start=start, end=end, ingested_at=ingested_at
    )
    for plan in plans_for(source):
        summary, errors, delta_engine = build(plan, ingested_at)
        result.tables.append(summary)
        result.errors += errors
        result.delta_engine = delta_engine
    result.seconds = round(time.perf_counter() - began, 3)
    return result


def backfill_local(
    storage: LakeStorage,
    source: str,
    *,
    run_id: str,
    start: date | None = None,
    end: date | None = None,
    ingested_at: datetime | None = None,
    policy: RowPolicy | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> BackfillResult:
    """The reference engine: the nightly landing function over every payload, into a scratch lake, then one write.

    Payloads are read and landed `chunk_bytes` at a time, so memory holds one chunk plus the table, not the source."""

    def build(plan: TablePlan, at: datetime) -> tuple[TableBackfill, list[str], str]:
        return _local_table(
            storage, source, plan, run_id=run_id, start=start, end=end, at=at, policy=policy, chunk_bytes=chunk_bytes
        )

    return backfill_tables(source, "local", build, start=start, end=end, ingested_at=ingested_at)


def _local_table(
    storage: LakeStorage,
    source: str,
    plan: TablePlan,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    at: datetime,
    policy: RowPolicy | None,
    chunk_bytes: int,
) -> tuple[TableBackfill, list[str], str]:
    t0 = time.perf_counter()
    rows = source_manifest(storage, source, plan)
    errors = []
    with tempfile.TemporaryDirectory(prefix="nexus-backfill-") as scratch_root:
        scratch = LakeStorage(root_uri=scratch_root)
        report = IngestReport(source=source, table=plan.spec.name, run_id=run_id)
        for chunk in payload_chunks(rows, chunk_bytes):  # bounded memory: one chunk's payloads staged at a time
            payloads = [payload_of(r, storage.read_bytes(object_location(storage, r["object_uri"]))) for r in chunk]
            errors += land_collecting_errors(
                scratch,
                payloads,
                parse=plan.parse,
                spec=plan.spec,
                run_id=run_id,
                report=report,
                since=start,
                until=end,
                policy=policy or RowPolicy(),
                suite=None,  # gated once below, on the whole candidate table
            )
            del payloads
        built = read_table(scratch, plan.spec)
        quarantined = read_table(scratch, QUARANTINE)
    built = built.set_column(
        built.column_names.index("ingested_at"),
        "ingested_at",
        pa.array([at] * built.num_rows, pa.timestamp("us", tz="UTC")),
    )
    if quarantined.num_rows:
        insert_new(storage, QUARANTINE, quarantined)
    summary = TableBackfill(
        table=plan.spec.name,
        payloads=len(rows),
        rows=built.num_rows,
        files=0,
        quarantined_payloads=len(errors),
        seconds=0.0,
    )
    messages = [str(e) for e in errors]
    try:
        summary.files, summary.gate = publish_local(
            storage, plan, built, start=start, end=end, source=source, run_id=run_id
        )
    except QualityGateError as exc:
        refused = set(built["source_sha256"].to_pylist())
        summary.quarantined_payloads += quarantine_batch(storage, rows, refused, exc, run_id=run_id)
        summary.rows, summary.committed, summary.gate = 0, False, exc.reason
        messages.append(str(exc))
        log.error("%s", exc)
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary, messages, "delta-rs"


def publish_local(
    storage: LakeStorage,
    plan: TablePlan,
    rows: pa.Table,
    *,
    start: date | None,
    end: date | None,
    source: str,
    run_id: str,
) -> tuple[int, str]:
    """Gate, then replace the table (or its rows dated in [start, end]) with `rows` in one commit; returns its file
    count and the gate's verdict, or raises `QualityGateError` having committed nothing.

    (`replace_where` checks the natural key alone; a versioned table repeats it once per version.)"""
    spec = plan.spec
    rows = conform(rows, spec)
    distinct = rows.group_by([*spec.keys, "version"]).aggregate([([], "count_all")]).num_rows
    if distinct != rows.num_rows:
        raise ValueError(f"{spec.name}: duplicate (key, version) rows in a backfill")
    predicate = range_predicate(spec.date_column, start, end) if spec.date_column else None
    current = open_table(storage, table_uri(storage, spec))
    candidate = rows
    if predicate and current is not None:
        kept = outside_range(read_table(storage, spec), spec.date_column or "", start, end)
        candidate = pa.concat_tables([conform(kept, spec), rows])
    metadata = audit(spec, candidate, source=source, base_version=current.version() if current else None, run_id=run_id)
    if predicate:
        ensure_table(storage, spec)
    write_deltalake(
        table_uri(storage, spec),
        rows,
        mode="overwrite",
        predicate=predicate,
        storage_options=storage.storage_options or None,
        commit_properties=CommitProperties(custom_metadata=metadata),
    )
    table = open_table(storage, table_uri(storage, spec))
    return (len(table.file_uris()) if table is not None else 0), json.loads(metadata[GATE_METADATA_KEY])["verdict"]


def run_backfill(
    storage: LakeStorage,
    source: str,
    *,
    engine: Engine,
    run_id: str,
    start: date | None = None,
    end: date | None = None,
    ingested_at: datetime | None = None,
    spark_master: str = "local[2]",
    spark_conf: dict[str, str] | None = None,
    policy: RowPolicy | None = None,
) -> BackfillResult:
    """Run one backfill on the chosen engine (Spark starts a local session unless one is running), holding the
    source's write lock so no nightly ingest commits to its tables meanwhile. `policy` is the nightly path's row
    quarantine policy (NEXUS_MAX_BAD_ROW_SHARE), so a backfill keeps exactly the rows the nightly ingest kept;
    `spark_conf` is added to a new local session's settings (e.g. `session.TINY_DATA_CONF`)."""
    with source_write_lock(storage, source):
        if engine == "local":
            return backfill_local(
                storage, source, run_id=run_id, start=start, end=end, ingested_at=ingested_at, policy=policy
            )
        from resources.spark.session import SparkConfig, build_session
        from resources.spark.spark_job import backfill_spark

        spark = build_session(SparkConfig(master=spark_master, extra_conf=spark_conf or {}))
        return backfill_spark(
            spark, storage, source, run_id=run_id, start=start, end=end, ingested_at=ingested_at, policy=policy
        )
