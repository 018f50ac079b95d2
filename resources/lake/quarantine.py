"""Quarantine: rows a parser refused, with the reason and where they came from, instead of silver.

Keyed by (source_sha256, row_number, reason) so re-reading the same bad payload adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from resources.lake.delta import MergeStats, insert_new
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec
from resources.quality.row_policy import MAX_KEPT_BAD_ROWS

QUARANTINE = TableSpec(
    zone="quarantine",
    name="rejected_rows",
    schema=pa.schema(
        [
            pa.field("source_sha256", pa.string(), nullable=False),
            pa.field("row_number", pa.int64(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("dataset", pa.string(), nullable=False),
            pa.field("location", pa.string(), nullable=False),
            pa.field("error_type", pa.string(), nullable=False),
            pa.field("raw", pa.string()),
            pa.field("quarantined_at", UTC_TS, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    keys=("source_sha256", "dataset", "row_number", "reason"),
    description=(
        "Rows refused by a parser, with reason, source, file and row number (the same bytes refused as another"
        " dataset are another payload's refusal, as in the bronze manifest)."
    ),
)


@dataclass(frozen=True)
class Rejection:
    """One refused row. `row_number` is the 1-based line (or record) number in the payload."""

    row_number: int
    reason: str
    raw: str | None
    error_type: str = "BadRow"


class TooManyBadRows(Exception):
    """A parser met more bad rows than it may keep: the payload is rejected whole, with the rows kept so far."""

    def __init__(self, kept: list[Rejection]) -> None:
        super().__init__(f"more than {len(kept)} bad rows")
        self.kept = kept


class BoundedRejections(list[Rejection]):
    """A parser's list of bad rows that stops the parse past `limit`, so bad input costs bounded memory."""

    def __init__(self, limit: int = MAX_KEPT_BAD_ROWS) -> None:
        super().__init__()
        self.limit = limit

    def append(self, item: Rejection) -> None:
        if len(self) >= self.limit:
            raise TooManyBadRows(list(self))
        super().append(item)


def quarantine_rows(
    storage: LakeStorage,
    rejections: list[Rejection],
    *,
    source: str,
    dataset: str,
    location: str,
    source_sha256: str,
    run_id: str,
) -> MergeStats:
    now = datetime.now(UTC)
    rows = [
        {
            "source_sha256": source_sha256,
            "row_number": r.row_number,
            "reason": r.reason,
            "source": source,
            "dataset": dataset,
            "location": location,
            "error_type": r.error_type,
            "raw": None if r.raw is None else r.raw[:2000],
            "quarantined_at": now,
            "run_id": run_id,
        }
        for r in rejections
    ]
    # one row per (row, reason): a parser may report the same line twice for two columns with one reason
    unique = {(r["row_number"], r["reason"]): r for r in rows}
    return insert_new(storage, QUARANTINE, pa.Table.from_pylist(list(unique.values()), schema=QUARANTINE.schema))
