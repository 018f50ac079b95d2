"""What every source shares: the parse result, the ingest report, and the landing pipeline.

One path for all sources and modes: payloads (from live HTTP, the simulated publisher over HTTP, or files) go
to bronze byte for byte, are parsed, and either merge into silver whole or not at all. Rows a parser refuses go to
quarantine and the payload's error is raised once every payload of the batch has been handled, so one bad file
neither hides the others nor lets a partial file into silver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from resources.errors import BadRowsError, QualityGateError, SourceDataError, SourceError
from resources.lake.bronze import BronzeRecord, RawPayload, put_payloads, stored_location
from resources.lake.quarantine import Rejection, TooManyBadRows, quarantine_rows
from resources.lake.storage import LakeStorage
from resources.lake.tables import BITEMPORAL_COLUMNS, TableSpec
from resources.quality.row_policy import RowPolicy
from resources.quality.suites import SilverSuite
from resources.sources.quality_gates import suite_for
from resources.sources.staging import StagedBatch

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")


def at_new_york(day: date, hh: int, mm: int) -> datetime:
    """A New York wall-clock time on `day`, as an aware UTC datetime (DST handled by zoneinfo)."""
    return datetime.combine(day, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


@dataclass(frozen=True)
class CutCandidate:
    """A row whose value came from a payload's unterminated last line: it may have been cut in transit.

    `key` is the row's natural key, `column` the value column read from the last field, `text` that field as
    published. A later payload whose value for `key` extends `text` corrects it in place (see `lake.corrections`).
    """

    key: dict[str, object]
    column: str
    text: str
    row_number: int


@dataclass
class ParseResult:
    """Rows in the silver table's shape (without version/is_revision), the rows refused, and a possible cut."""

    table: pa.Table
    rejections: list[Rejection] = field(default_factory=list)
    cut_candidate: CutCandidate | None = None


class PayloadOutcome(BaseModel):
    dataset: str
    location: str
    sha256: str
    new_in_bronze: bool
    rows: int = 0
    added: int = 0
    revised: int = 0
    unchanged: int = 0
    quarantined: int = 0
    corrected: int = 0
    skipped_outside_range: int = 0
    error: str | None = None
    warning: str | None = None


class IngestReport(BaseModel):
    """What one ingest did: per payload and in total. Shown by the CLI and attached to materializations."""

    source: str
    table: str
    run_id: str
    payloads: list[PayloadOutcome] = Field(default_factory=list)
    policy: str = ""
    gate: str = ""  # the staged validation's outcome (write-audit-publish), as shown in the asset check

    @property
    def added(self) -> int:
        return sum(p.added for p in self.payloads)

    @property
    def revised(self) -> int:
        return sum(p.revised for p in self.payloads)

    @property
    def unchanged(self) -> int:
        return sum(p.unchanged for p in self.payloads)

    @property
    def quarantined(self) -> int:
        return sum(p.quarantined for p in self.payloads)

    @property
    def corrected(self) -> int:
        return sum(p.corrected for p in self.payloads)

    @property
    def skipped(self) -> int:
        return sum(p.skipped_outside_range for p in self.payloads)

    @property
    def failed(self) -> list[PayloadOutcome]:
        return [p for p in self.payloads if p.error]

    def summary(self) -> dict[str, int]:
        return {
            "payloads": len(self.payloads),
            "new_payloads": sum(p.new_in_bronze for p in self.payloads),
            "rows": sum(p.rows for p in self.payloads),
            "added": self.added,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "corrected": self.corrected,
            "skipped": self.skipped,
            "failed_payloads": len(self.failed),
        }


class IngestFailedError(SourceDataError):
    """Several payloads of one ingest failed; each error is in `.errors`."""

    def __init__(self, errors: Sequence[SourceError], report: IngestReport) -> None:
        self.errors = list(errors)
        self.report = report
        first = errors[0]
        super().__init__(
            f"{len(errors)} payloads failed: " + "; ".join(str(e) for e in errors),
            source=first.source,
            dataset=first.dataset,
            location=first.location,
            row=first.row,
        )


Parser = Callable[[RawPayload], ParseResult]


def land_payloads(
    storage: LakeStorage,
    payloads: Sequence[RawPayload],
    *,
    parse: Parser,
    spec: TableSpec,
    run_id: str,
    since: date | None = None,
    until: date | None = None,
    report: IngestReport | None = None,
    policy: RowPolicy | None = None,
    suite: SilverSuite | Literal["default"] | None = "default",
) -> IngestReport:
    """Bronze every payload, parse each one, stage its good rows, gate them, then commit them to silver at once.

    Write-audit-publish: the new versions of every payload are staged in memory, the table's blocking Great
    Expectations `suite` (by default the one declared for `spec`) runs on the candidate table (current rows plus
    staged ones), and only a passing candidate is committed, in one Delta commit. A failing expectation leaves the
    table at its previous version, quarantines the batch naming the expectation and raises `QualityGateError`.
    Bad rows go to quarantine and the rest lands, within `policy` (see `resources.quality.row_policy`); a
    structural problem or too many bad rows rejects the payload whole. Rows dated outside [since, until] are
    skipped: `since` is the lake's configured history start, `until` the end of the partition. Raises the typed
    error (or `IngestFailedError` for several) after landing everything that was good.
    """
    policy = policy or RowPolicy()
    gate = suite_for(spec.name) if suite == "default" else suite
    report = report or IngestReport(source=payloads[0].source if payloads else "?", table=spec.name, run_id=run_id)
    report.policy = policy.describe()
    records: list[BronzeRecord] = put_payloads(storage, list(payloads), run_id)
    errors: list[SourceError] = []
    batch = StagedBatch(storage, spec)
    for record in sorted(records, key=lambda r: (r.payload.knowledge_time, r.payload.dataset)):
        payload = record.payload
        outcome = PayloadOutcome(
            dataset=payload.dataset,
            location=payload.location,
            sha256=record.sha256,
            new_in_bronze=record.is_new,
        )
        report.payloads.append(outcome)
        try:
            _stage_one(
                storage,
                batch,
                record,
                parse=parse,
                run_id=run_id,
                since=since,
                until=until,
                policy=policy,
                outcome=outcome,
            )
        except SourceDataError as exc:
            outcome.error = str(exc)
            if not isinstance(exc, BadRowsError):
                _quarantine(storage, record, [Rejection(exc.row or 0, exc.reason, None, type(exc).__name__)], run_id)
                outcome.quarantined = max(outcome.quarantined, 1)
            errors.append(exc)
            log.error("%s", exc)
    if batch.staged:
        try:
            report.gate = batch.publish(gate, run_id=run_id)
        except QualityGateError as exc:
            for staged in batch.staged:
                staged.outcome.error = str(exc)
                staged.outcome.added = staged.outcome.revised = staged.outcome.corrected = 0
                _quarantine(storage, staged.record, [Rejection(0, exc.reason, None, type(exc).__name__)], run_id)
            report.gate = exc.reason
            errors.append(exc)
            log.error("%s", exc)
    raise_collected(errors, report)
    return report


def _quarantine(storage: LakeStorage, record: BronzeRecord, rejections: list[Rejection], run_id: str) -> None:
    payload = record.payload
    quarantine_rows(
        storage,
        rejections,
        source=payload.source,
        dataset=payload.dataset,
        location=stored_location(payload.location),
        source_sha256=record.sha256,
        run_id=run_id,
    )


def _stage_one(
    storage: LakeStorage,
    batch: StagedBatch,
    record: BronzeRecord,
    *,
    parse: Parser,
    run_id: str,
    since: date | None,
    until: date | None,
    policy: RowPolicy,
    outcome: PayloadOutcome,
) -> None:
    payload = record.payload
    spec = batch.spec
    where = {"source": payload.source, "dataset": payload.dataset, "location": payload.location}
    try:
        result = parse(payload)
    except TooManyBadRows as exc:
        _quarantine(storage, record, exc.kept, run_id)
        outcome.quarantined = len(exc.kept)
        first = exc.kept[0]
        raise BadRowsError(
            f"more than {len(exc.kept):,} bad rows (first on line {first.row_number}: {first.reason});"
            " the payload was rejected whole",
            row=first.row_number,
            bad_rows=len(exc.kept),
            **where,
        ) from None
    bad, good = len(result.rejections), result.table.num_rows
    if bad:
        _quarantine(storage, record, result.rejections, run_id)
        outcome.quarantined = bad
        first = result.rejections[0]
        if policy.rejects(bad, good):
            raise BadRowsError(
                f"{bad:,} of {bad + good:,} rows are bad, above the {policy.max_bad_row_share:.2%} limit"
                f" (first on line {first.row_number}: {first.reason}); the payload was rejected whole",
                row=first.row_number,
                bad_rows=bad,
                **where,
            )
        outcome.warning = (
            f"{bad:,} bad row{'s' if bad != 1 else ''} quarantined (first on line {first.row_number}: {first.reason});"
            f" {good:,} rows loaded"
        )
        log.warning("%s [source=%s, dataset=%s, file=%s]", outcome.warning, *where.values())
    table = _with_ingest_columns(result.table, record)
    outcome.rows = table.num_rows
    if (since or until) and spec.date_column and table.num_rows:
        kept = _within(table, spec.date_column, since, until)
        outcome.skipped_outside_range = table.num_rows - kept.num_rows
        table = kept
    batch.stage(record, table, result.cut_candidate, outcome)


def land_collecting_errors(
    storage: LakeStorage,
    payloads: Sequence[RawPayload],
    *,
    parse: Parser,
    spec: TableSpec,
    run_id: str,
    report: IngestReport,
    since: date | None = None,
    until: date | None = None,
    policy: RowPolicy | None = None,
    suite: SilverSuite | Literal["default"] | None = "default",
) -> list[SourceError]:
    """`land_payloads`, returning the data errors instead of raising them, so the next table still lands."""
    try:
        land_payloads(
            storage,
            payloads,
            parse=parse,
            spec=spec,
            run_id=run_id,
            since=since,
            until=until,
            report=report,
            policy=policy,
            suite=suite,
        )
    except IngestFailedError as exc:
        return list(exc.errors)
    except SourceDataError as exc:
        return [exc]
    return []


def raise_collected(errors: Sequence[SourceError], report: IngestReport) -> None:
    """Raise what was collected once everything landable has landed: one error as itself, several together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise IngestFailedError(errors, report)


def _within(table: pa.Table, column: str, since: date | None, until: date | None) -> pa.Table:
    col = table[column]
    mask = pa.array([True] * table.num_rows)
    if since is not None:
        mask = pc.and_(mask, pc.greater_equal(col, pa.scalar(since, col.type)))
    if until is not None:
        mask = pc.and_(mask, pc.less_equal(col, pa.scalar(until, col.type)))
    return table.filter(mask)


def _with_ingest_columns(table: pa.Table, record: BronzeRecord) -> pa.Table:
    """Add ingested_at and source_sha256 (the parser fills the rest of the bitemporal columns)."""
    now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
    n = table.num_rows
    for name, value in (("ingested_at", now), ("source_sha256", pa.scalar(record.sha256))):
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, pa.array([value.as_py()] * n, type=value.type))
    return table


def parsed_columns(spec: TableSpec) -> list[str]:
    """Columns a parser must produce for `spec`: all but those the pipeline and the merge add."""
    added = {"version", "is_revision", "ingested_at", "source_sha256"}
    return [c for c in spec.schema.names if c not in added]


def empty_parse(spec: TableSpec) -> pa.Table:
    return spec.schema.empty_table().select(parsed_columns(spec))


__all__ = [
    "BITEMPORAL_COLUMNS",
    "IngestFailedError",
    "IngestReport",
    "ParseResult",
    "Parser",
    "at_new_york",
    "land_payloads",
    "parsed_columns",
]
