"""Materialization metadata and check results for ingest assets: counts, date ranges and a preview."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from resources.lake.bronze import MANIFEST
from resources.lake.delta import read_table, table_uri
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.quality.suites import SilverSuite, validate
from resources.sources.base import IngestReport


def _preview(storage: LakeStorage, spec: TableSpec, rows: int = 10) -> str:
    table = read_table(storage, spec)
    if table.num_rows == 0:
        return "(empty)"
    frame = table.to_pandas()
    frame = frame.sort_values(spec.date_column).tail(rows) if spec.date_column else frame.tail(rows)
    return frame.drop(columns=["source_sha256"], errors="ignore").to_markdown(index=False)


def ingest_metadata(storage: LakeStorage, report: IngestReport, spec: TableSpec) -> tuple[dict, dict]:
    """(bronze metadata, silver metadata) for one ingest."""
    summary = report.summary()
    payloads = [
        {"dataset": p.dataset, "sha256": p.sha256[:16], "new": p.new_in_bronze, "rows": p.rows} for p in report.payloads
    ]
    bronze = {
        "payloads": summary["payloads"],
        "new_payloads": summary["new_payloads"],
        "manifest": MetadataValue.path(table_uri(storage, MANIFEST)),
        "payload_list": MetadataValue.json(payloads),
    }
    silver_table = read_table(storage, spec, columns=[spec.date_column] if spec.date_column else None)
    silver = {
        "added": report.added,
        "revised": report.revised,
        "unchanged": report.unchanged,
        "quarantined": report.quarantined,
        "dagster/row_count": silver_table.num_rows,
        "table_uri": MetadataValue.path(table_uri(storage, spec)),
    }
    if spec.date_column and silver_table.num_rows:
        col = silver_table.column(spec.date_column)
        silver["first_date"] = str(min(col.to_pylist()))
        silver["last_date"] = str(max(col.to_pylist()))
    silver["preview"] = MetadataValue.md(_preview(storage, spec))
    return bronze, silver


def quality_check_result(
    storage: LakeStorage, spec: TableSpec, suite: SilverSuite, severity: AssetCheckSeverity
) -> AssetCheckResult:
    frame = read_table(storage, spec).to_pandas()
    outcome = validate(frame, suite)
    failures = [
        {
            "expectation": f.expectation,
            "column": f.column,
            "unexpected": f.unexpected_count,
            "detail": f.detail,
        }
        for f in outcome.failures
    ]
    return AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        metadata={
            "rows": outcome.rows,
            "expectations": len(outcome.results),
            "failed": len(failures),
            "failures": MetadataValue.json(failures),
        },
        description=None if outcome.success else f"{len(failures)} expectations failed",
    )
