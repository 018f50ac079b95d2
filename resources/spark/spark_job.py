"""The Spark backfill: payloads parsed in parallel by the project's parsers, the versioned merge as window functions.

Same semantics as `backfill.backfill_local` (see that module's docstring); the merge is `merge_versioned` applied
payload after payload, written here in one pass: within a key, ordered by landing sequence, a row is kept when it
is the key's first or its values differ (null-safe) from the previous row's (the latest kept version always
holds the previous row's values), its version is its rank among kept rows, and a revision's `available_at` is
raised to its payload's knowledge time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from resources.errors import QualityGateError, SourceDataError
from resources.lake.bronze import object_location, stored_location
from resources.lake.delta import open_table, table_uri
from resources.lake.quarantine import Rejection, TooManyBadRows, quarantine_rows
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, conform
from resources.quality.row_policy import RowPolicy
from resources.sources.base import _within
from resources.sources.staging import GATE_METADATA_KEY
from resources.spark.backfill import BackfillResult, TableBackfill, backfill_tables, source_manifest
from resources.spark.delta_io import delta_io_for, spark_schema
from resources.spark.gate import audit, audit_columns, quarantine_batch
from resources.spark.plans import TablePlan, knowledge_time, payload_of, range_predicate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SEQ, FLOOR, REJECT = "_seq", "_floor", "_reject"
_PAYLOAD_SCHEMA = pa.schema(
    [
        pa.field(SEQ, pa.int64()),
        pa.field("sha256", pa.string()),
        pa.field("object_uri", pa.string()),
        pa.field("source", pa.string()),
        pa.field("dataset", pa.string()),
        pa.field("location", pa.string()),
        pa.field("media_type", pa.string()),
        pa.field("fetched_at", UTC_TS),
        pa.field("as_of", UTC_TS),
    ]
)


def _parsed_schema(plan: TablePlan) -> pa.Schema:
    """Rows as parsed (all the table's columns but version and is_revision), plus sequence, floor and refusal."""
    fields = [pa.field(f.name, f.type) for f in plan.spec.schema if f.name not in ("version", "is_revision")]
    return pa.schema([*fields, pa.field(SEQ, pa.int64()), pa.field(FLOOR, UTC_TS), pa.field(REJECT, pa.string())])


def parse_partition(
    batches: Iterator[pa.RecordBatch],
    *,
    storage: LakeStorage,
    plan: TablePlan,
    start: date | None,
    end: date | None,
    ingested_at: datetime,
    policy: RowPolicy,
) -> Iterator[pa.RecordBatch]:
    """Executor side: read each payload from bronze, parse it, and emit its good rows and/or one refusal record.

    Refusals follow the nightly path's row policy: `partial` (bad rows quarantined, good rows land), `rows` (over
    the policy's limit: the payload is rejected whole) or `error` (a structural problem)."""
    out_schema = _parsed_schema(plan)
    without = ("version", "is_revision")
    for batch in batches:
        for row in batch.to_pylist():
            payload = payload_of(row, storage.read_bytes(object_location(storage, row["object_uri"])))
            floor = knowledge_time(row)
            try:
                try:
                    result = plan.parse(payload)
                except TooManyBadRows as exc:
                    refusal = {"kind": "rows", "good": None, "rejections": [r.__dict__ for r in exc.kept]}
                    yield _refusal(row[SEQ], refusal, out_schema)
                    continue
                bad, good = len(result.rejections), result.table.num_rows
                if bad:
                    kind = "rows" if policy.rejects(bad, good) else "partial"
                    refusal = {"kind": kind, "good": good, "rejections": [r.__dict__ for r in result.rejections]}
                    yield _refusal(row[SEQ], refusal, out_schema)
                    if kind == "rows":
                        continue
                table = result.table
                n = table.num_rows
                for name, value, dtype in (
                    ("ingested_at", ingested_at, UTC_TS),
                    ("source_sha256", row["sha256"], pa.string()),
                ):
                    if name in table.column_names:
                        table = table.drop_columns([name])
                    table = table.append_column(name, pa.array([value] * n, dtype))
                if (start or end) and plan.spec.date_column and n:
                    table = _within(table, plan.spec.date_column, start, end)
                table = conform(table, plan.spec, without=without)
                repeated = _repeated_keys(table, plan)
                if repeated:  # `merge_versioned` refuses a payload offering one key twice: so does the driver
                    yield _refusal(row[SEQ], {"kind": "duplicate", "keys": repeated}, out_schema)
                    continue
            except SourceDataError as exc:
                refusal = {"kind": "error", "row": exc.row, "reason": exc.reason, "type": type(exc).__name__}
                yield _refusal(row[SEQ], refusal, out_schema)
                continue
            n = table.num_rows
            if not n:
                continue
            table = table.append_column(SEQ, pa.array([row[SEQ]] * n, pa.int64()))
            table = table.append_column(FLOOR, pa.array([floor] * n, UTC_TS))
            table = table.append_column(REJECT, pa.nulls(n, pa.string()))
            yield from table.cast(out_schema).to_batches()


def _repeated_keys(table: pa.Table, plan: TablePlan) -> int:
    """How many rows repeat a key already offered in the same payload (checked here, where the payload is one
    Arrow table, rather than by a shuffle of every parsed row on the cluster)."""
    keys = list(plan.spec.keys)
    return table.num_rows - table.group_by(keys).aggregate([([], "count_all")]).num_rows if table.num_rows else 0


def _refusal(seq: int, refusal: dict[str, Any], schema: pa.Schema) -> pa.RecordBatch:
    values = {f.name: pa.nulls(1, f.type) for f in schema}
    values[SEQ] = pa.array([seq], pa.int64())
    values[REJECT] = pa.array([json.dumps(refusal)], pa.string())
    return pa.RecordBatch.from_pydict(values, schema=schema)


def versioned(parsed: DataFrame, plan: TablePlan) -> DataFrame:
    """`merge_versioned` over the payloads in sequence, as one window computation."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = list(plan.spec.keys)
    values = list(plan.spec.value_columns)
    by_key = Window.partitionBy(*keys).orderBy(SEQ)
    same = F.lit(True)
    for col in values:
        same = same & F.col(col).eqNullSafe(F.lag(col).over(by_key))
    first = F.lag(SEQ).over(by_key).isNull()
    kept = parsed.withColumn("_keep", first | ~same).where("_keep")
    version = F.row_number().over(by_key).cast("int")
    out = (
        kept.withColumn("version", version)
        .withColumn("is_revision", F.col("version") > 1)
        .withColumn(
            "available_at",
            F.when(F.col("is_revision") & (F.col("available_at") < F.col(FLOOR)), F.col(FLOOR)).otherwise(
                F.col("available_at")
            ),
        )
    )
    target = spark_schema(plan.spec.schema)
    return out.select(*[F.col(f.name).cast(f.dataType) for f in target.fields])


def backfill_table(
    spark: SparkSession,
    storage: LakeStorage,
    source: str,
    plan: TablePlan,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    ingested_at: datetime,
    policy: RowPolicy | None = None,
) -> tuple[TableBackfill, list[str], str]:
    """Rebuild one table; returns its summary, the payload errors and the Delta engine used."""
    policy = policy or RowPolicy()
    t0 = time.perf_counter()
    rows = source_manifest(storage, source, plan)
    payloads = pa.Table.from_pylist(
        [{**{k: r[k] for k in _PAYLOAD_SCHEMA.names if k != SEQ}, SEQ: i} for i, r in enumerate(rows)],
        schema=_PAYLOAD_SCHEMA,
    )
    frame = spark.createDataFrame(payloads.to_pylist(), spark_schema(_PAYLOAD_SCHEMA))
    frame = frame.repartition(max(1, min(len(rows), spark.sparkContext.defaultParallelism * 4)), SEQ)
    out_schema = _parsed_schema(plan)

    def _parse(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return parse_partition(
            batches, storage=storage, plan=plan, start=start, end=end, ingested_at=ingested_at, policy=policy
        )

    parsed = frame.mapInArrow(_parse, spark_schema(out_schema)).persist()
    try:
        refusals = parsed.where(parsed[REJECT].isNotNull()).select(SEQ, REJECT).collect()
        _refuse_duplicates(plan, rows, refusals)
        errors = _quarantine(storage, rows, refusals, run_id=run_id, policy=policy)
        refused = {r[SEQ] for r in refusals if json.loads(r[REJECT])["kind"] != "partial"}
        good = parsed.where(parsed[REJECT].isNull())
        if refused:
            good = good.where(~good[SEQ].isin(list(refused)))
        io = delta_io_for(spark, storage)
        predicate = range_predicate(plan.spec.date_column, start, end) if plan.spec.date_column else None
        merged = versioned(good, plan).persist()  # the writer's null check, the gate and the write all read it
        summary = TableBackfill(
            table=plan.spec.name, payloads=len(rows), rows=0, files=0, quarantined_payloads=len(refused), seconds=0.0
        )
        uri = table_uri(storage, plan.spec)
        recorded: dict[str, str] = {}

        def _audit(candidate: pa.Table) -> dict[str, str]:
            recorded.update(_gate(candidate, plan=plan, source=source, uri=uri, storage=storage, run_id=run_id))
            return recorded

        try:
            stats = io.write(
                merged,
                uri,
                schema=plan.spec.schema,
                mode="overwrite",
                replace_where=predicate,
                audit=_audit,
                audit_columns=audit_columns(plan.spec),
            )
            summary.rows, summary.files = stats.rows, stats.files
            summary.gate = json.loads(recorded[GATE_METADATA_KEY])["verdict"]
        except QualityGateError as exc:
            sha = {r[0] for r in merged.select("source_sha256").distinct().collect()}
            summary.quarantined_payloads += quarantine_batch(storage, rows, sha, exc, run_id=run_id)
            summary.committed, summary.gate = False, exc.reason
            errors.append(str(exc))
        finally:
            merged.unpersist()
    finally:
        parsed.unpersist()
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary, errors, io.engine


def _gate(
    candidate: pa.Table, *, plan: TablePlan, source: str, uri: str, storage: LakeStorage, run_id: str
) -> dict[str, str]:
    """The write's audit: the table's blocking suite on the staged candidate (see `gate`)."""
    current = open_table(storage, uri)
    return audit(
        plan.spec, candidate, source=source, base_version=current.version() if current else None, run_id=run_id
    )


def _refuse_duplicates(plan: TablePlan, rows: list[dict], refusals: list[Any]) -> None:
    for refusal in refusals:
        info = json.loads(refusal[REJECT])
        if info["kind"] == "duplicate":
            raise ValueError(
                f"{plan.spec.name}: {info['keys']} duplicate keys offered on {list(plan.spec.keys)} in one payload"
                f" ({rows[refusal[SEQ]]['location']})"
            )


def _quarantine(
    storage: LakeStorage, rows: list[dict], refusals: list[Any], *, run_id: str, policy: RowPolicy
) -> list[str]:
    """Quarantine refused rows and payloads exactly as the nightly path does; returns one error line per payload
    rejected whole (a payload whose few bad rows were quarantined while its good rows landed is no error)."""
    errors = []
    for refusal in sorted(refusals, key=lambda r: r[SEQ]):
        row = rows[refusal[SEQ]]
        info = json.loads(refusal[REJECT])
        if info["kind"] == "error":
            rejections = [Rejection(info["row"] or 0, info["reason"], None, info["type"])]
            message = info["reason"]
        else:
            rejections = [Rejection(**r) for r in info["rejections"]]
            first, bad = rejections[0], len(rejections)
            if info["good"] is None:
                message = f"more than {bad:,} bad rows (first on line {first.row_number}: {first.reason})"
            else:
                message = (
                    f"{bad:,} of {bad + info['good']:,} rows are bad, above the {policy.max_bad_row_share:.2%} limit"
                    f" (first on line {first.row_number}: {first.reason})"
                )
            message += "; the payload was rejected whole"
        quarantine_rows(
            storage,
            rejections,
            source=row["source"],
            dataset=row["dataset"],
            location=stored_location(row["location"]),
            source_sha256=row["sha256"],
            run_id=run_id,
        )
        if info["kind"] != "partial":
            errors.append(f"{message} [source={row['source']}, dataset={row['dataset']}, file={row['location']}]")
    return errors


def backfill_spark(
    spark: SparkSession,
    storage: LakeStorage,
    source: str,
    *,
    run_id: str,
    start: date | None = None,
    end: date | None = None,
    ingested_at: datetime | None = None,
    policy: RowPolicy | None = None,
) -> BackfillResult:
    """Rebuild every silver table of `source` from bronze on Spark."""

    def build(plan: TablePlan, at: datetime) -> tuple[TableBackfill, list[str], str]:
        return backfill_table(
            spark, storage, source, plan, run_id=run_id, start=start, end=end, ingested_at=at, policy=policy
        )

    return backfill_tables(source, "spark", build, start=start, end=end, ingested_at=ingested_at)
