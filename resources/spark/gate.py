"""The backfill's quality gate: the blocking suite of the nightly write-audit-publish, run on the candidate table.

A backfill replaces a table (or its rows in a date range) in one commit. Both engines stage that commit first
(the local engine in memory, the Spark engine as Parquet files not yet in the Delta log) and hand the candidate,
the whole table as it would read after the commit, to `audit` before committing. Only the columns the suite reads
(`audit_columns`) are loaded: the Spark engine reads just those from its staged files. A failing expectation raises
`QualityGateError`: nothing is committed, so the table stays at its previous Delta version, and the engine
quarantines the batch (one row per payload whose rows were refused, as `sources.base.land_payloads` does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from resources.errors import QualityGateError
from resources.lake.quarantine import Rejection, quarantine_rows
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.quality.suites import suite_columns, suite_fingerprint, validate
from resources.sources.quality_gates import suite_for
from resources.sources.staging import GATE_METADATA_KEY, gate_refusal


def audit(
    spec: TableSpec, candidate: pa.Table, *, source: str, base_version: int | None, run_id: str
) -> dict[str, str]:
    """Run `spec`'s blocking suite on the candidate; return the commit metadata recording the verdict (the same
    `nexus.gate` entry a nightly batch commits), or raise `QualityGateError` naming the failed expectations."""
    suite = suite_for(spec.name)
    verdict = "no blocking suite"
    gate: dict[str, object] = {"run_id": run_id, "passed": True, "backfill": True}
    if suite is not None:
        checked = candidate.select(suite_columns(suite, candidate.column_names))  # only what the suite reads
        outcome = validate(checked.to_pandas(), suite)
        if not outcome.success:
            raise gate_refusal(
                outcome,
                table=spec.name,
                base_version=base_version,
                source=source,
                dataset=None,
                location=f"backfill of silver/{spec.name}",
                batch="backfill",
            )
        verdict = f"{suite.name}: {len(outcome.results)} expectations passed on {outcome.rows:,} candidate rows"
        gate["suite_fingerprint"] = suite_fingerprint(suite)  # the asset check carries a verdict of the same suite
    return {GATE_METADATA_KEY: json.dumps({**gate, "verdict": verdict})}


def audit_columns(spec: TableSpec) -> list[str]:
    """The columns of `spec`'s table its blocking suite reads: all a gate needs to load of the candidate."""
    suite = suite_for(spec.name)
    return suite_columns(suite, spec.schema.names) if suite is not None else []


def outside_range(table: pa.Table, column: str, start: object, end: object) -> pa.Table:
    """The rows a range backfill keeps: those dated before `start` or after `end`."""
    col = table[column]
    inside = pa.array([True] * table.num_rows)
    if start is not None:
        inside = pc.and_(inside, pc.greater_equal(col, pa.scalar(start, col.type)))
    if end is not None:
        inside = pc.and_(inside, pc.less_equal(col, pa.scalar(end, col.type)))
    return table.filter(pc.invert(inside))


def quarantine_batch(
    storage: LakeStorage, manifest: list[dict], refused_sha256: Iterable[str], error: QualityGateError, *, run_id: str
) -> int:
    """One quarantine row per payload whose rows the gate refused, naming the expectation; returns how many."""
    from resources.lake.bronze import stored_location

    wanted = set(refused_sha256)
    rows = [r for r in manifest if r["sha256"] in wanted]
    for row in {r["sha256"]: r for r in rows}.values():
        quarantine_rows(
            storage,
            [Rejection(0, error.reason, None, type(error).__name__)],
            source=row["source"],
            dataset=row["dataset"],
            location=stored_location(row["location"]),
            source_sha256=row["sha256"],
            run_id=run_id,
        )
    return len(wanted)
