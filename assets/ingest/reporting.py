"""Materialization metadata and check results for ingest assets: counts, date ranges and a preview."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from resources.lake.bronze import MANIFEST
from resources.lake.delta import read_table, table_uri
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.quality.suites import SilverSuite, suite_fingerprint, validate
from resources.sources.base import IngestReport
from resources.sources.staging import committed_gate


def _preview(storage: LakeStorage, spec: TableSpec, rows: int = 10) -> str:
    table = read_table(storage, spec)
    if table.num_rows == 0:
        return "(empty)"
    frame = table.to_pandas()
    frame = frame.sort_values(spec.date_column).tail(rows) if spec.date_column else frame.tail(rows)
    return frame.drop(columns=["source_sha256"], errors="ignore").to_markdown(index=False)


def bronze_metadata(storage: LakeStorage, reports: list[IngestReport], datasets: frozenset[str] | None) -> dict:
    payloads = [
        {"dataset": p.dataset, "sha256": p.sha256[:16], "new": p.new_in_bronze, "rows": p.rows}
        for r in reports
        for p in r.payloads
        if datasets is None or p.dataset in datasets
    ]
    unique = {p["sha256"]: p for p in payloads}
    return {
        "payloads": len(unique),
        "new_payloads": sum(1 for p in unique.values() if p["new"]),
        "manifest": MetadataValue.path(table_uri(storage, MANIFEST)),
        "payload_list": MetadataValue.json(list(unique.values())),
    }


def silver_metadata(storage: LakeStorage, report: IngestReport | None, spec: TableSpec, as_of: object) -> dict:
    table = read_table(storage, spec, columns=[spec.date_column] if spec.date_column else None)
    meta: dict = {
        "as_of": str(as_of),
        "added": report.added if report else 0,
        "revised": report.revised if report else 0,
        "unchanged": report.unchanged if report else 0,
        "quarantined": report.quarantined if report else 0,
        "corrected": report.corrected if report else 0,
        "quarantine_policy": report.policy if report else "",
        "quality_gate": report.gate if report else "",
        "dagster/row_count": table.num_rows,
        "table_uri": MetadataValue.path(table_uri(storage, spec)),
    }
    if spec.date_column and table.num_rows:
        values = table.column(spec.date_column).to_pylist()
        meta["first_date"] = str(min(values))
        meta["last_date"] = str(max(values))
    warnings = [f"{p.location}: {p.warning}" for p in (report.payloads if report else []) if p.warning]
    if warnings:
        meta["quarantine_warnings"] = MetadataValue.json(warnings)
    meta["preview"] = MetadataValue.md(_preview(storage, spec))
    return meta


def quality_check_result(
    storage: LakeStorage,
    spec: TableSpec,
    suite: SilverSuite,
    severity: AssetCheckSeverity,
    run_id: str | None = None,
) -> AssetCheckResult:
    """The suite's verdict: the staged validation this run's ingest committed with (write-audit-publish); when this
    run committed nothing new and the table's latest commit is a batch that passed this same suite, that verdict
    carried (the table has not changed since it was validated: a re-run with nothing new validates nothing);
    otherwise the suite run on the table as it stands."""
    gate = committed_gate(storage, spec) if run_id else None
    if (
        gate is not None
        and gate.get("run_id") != run_id
        and gate.get("passed")
        and gate.get("suite_fingerprint") == suite_fingerprint(suite)
    ):
        return AssetCheckResult(
            passed=True,
            severity=severity,
            metadata={
                "validated": "carried: the table is unchanged since its latest commit passed this suite",
                "verdict": gate.get("verdict", ""),
                "delta_version": gate.get("version"),
                "validated_by_run": gate.get("run_id"),
            },
            description="passed: unchanged since the gated commit that passed the same suite",
        )
    if gate is not None and gate.get("run_id") == run_id and gate.get("passed"):
        return AssetCheckResult(
            passed=True,
            severity=severity,
            metadata={
                "validated": "staged candidate, before commit",
                "verdict": gate.get("verdict", ""),
                "delta_version": gate.get("version"),
            },
            description="passed on the staged rows before they were committed",
        )
    frame = read_table(storage, spec).to_pandas()
    outcome = validate(frame, suite)
    failures = [
        {"expectation": f.expectation, "column": f.column, "unexpected": f.unexpected_count, "detail": f.detail}
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
