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
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from resources.errors import BadRowsError, SourceDataError, SourceError
from resources.lake.bronze import BronzeRecord, RawPayload, put_payloads, stored_location
from resources.lake.delta import MergeStats, merge_versioned
from resources.lake.quarantine import Rejection, quarantine_rows
from resources.lake.storage import LakeStorage
from resources.lake.tables import BITEMPORAL_COLUMNS, TableSpec
from resources.sources.late_release import first_seen_window

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")


def at_new_york(day: date, hh: int, mm: int) -> datetime:
    """A New York wall-clock time on `day`, as an aware UTC datetime (DST handled by zoneinfo)."""
    return datetime.combine(day, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


@dataclass
class ParseResult:
    """Rows in the silver table's shape (without version/is_revision) and the rows refused."""

    table: pa.Table
    rejections: list[Rejection] = field(default_factory=list)


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
    skipped_outside_range: int = 0
    error: str | None = None


class IngestReport(BaseModel):
    """What one ingest did: per payload and in total. Shown by the CLI and attached to materializations."""

    source: str
    table: str
    run_id: str
    payloads: list[PayloadOutcome] = Field(default_factory=list)

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
) -> IngestReport:
    """Bronze every payload, then parse and merge each one whole into `spec`'s versioned silver table.

    Rows dated outside [since, until] are skipped: `since` is the lake's configured history start, `until` the
    end of the partition (a partition records what was known up to its end). Raises the payload's typed error
    (or `IngestFailedError` for several) after landing everything that was good.
    """
    report = report or IngestReport(source=payloads[0].source if payloads else "?", table=spec.name, run_id=run_id)
    records: list[BronzeRecord] = put_payloads(storage, list(payloads), run_id)
    errors: list[SourceError] = []
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
            result = parse(payload)
            if result.rejections:
                quarantine_rows(
                    storage,
                    result.rejections,
                    source=payload.source,
                    dataset=payload.dataset,
                    location=stored_location(payload.location),
                    source_sha256=record.sha256,
                    run_id=run_id,
                )
                outcome.quarantined = len(result.rejections)
                first = result.rejections[0]
                raise BadRowsError(
                    f"{len(result.rejections)} bad rows (first: {first.reason}); nothing of this file was loaded",
                    source=payload.source,
                    dataset=payload.dataset,
                    location=payload.location,
                    row=first.row_number,
                    bad_rows=len(result.rejections),
                )
            table = _with_ingest_columns(result.table, record)
            outcome.rows = table.num_rows
            if (since or until) and spec.date_column and table.num_rows:
                kept = _within(table, spec.date_column, since, until)
                outcome.skipped_outside_range = table.num_rows - kept.num_rows
                table = kept
            stats: MergeStats = merge_versioned(
                storage,
                spec,
                table,
                revision_available_at=payload.knowledge_time,
                first_seen_window=first_seen_window(payload),
            )
            outcome.added, outcome.revised, outcome.unchanged = stats.added, stats.revised, stats.unchanged
        except SourceDataError as exc:
            outcome.error = str(exc)
            if not isinstance(exc, BadRowsError):
                quarantine_rows(
                    storage,
                    [Rejection(exc.row or 0, exc.reason, None, type(exc).__name__)],
                    source=payload.source,
                    dataset=payload.dataset,
                    location=stored_location(payload.location),
                    source_sha256=record.sha256,
                    run_id=run_id,
                )
                outcome.quarantined = max(outcome.quarantined, 1)
            errors.append(exc)
            log.error("%s", exc)
    raise_collected(errors, report)
    return report


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
) -> list[SourceError]:
    """`land_payloads`, returning the data errors instead of raising them, so the next table still lands."""
    try:
        land_payloads(storage, payloads, parse=parse, spec=spec, run_id=run_id, since=since, until=until, report=report)
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
