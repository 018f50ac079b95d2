"""The gold signals table: schema from the SignalRow contract, partitioned by signal date, replaced per window."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import Field as DeltaField

from assets.signals.build import SIGNAL_COLUMNS
from assets.signals.contract import SIGNALS_SCHEMA_VERSION, SignalRow
from resources.feeds.datasets import FeedDataset
from resources.lake.delta import MergeStats, content_hash, open_table, read_table, replace_values
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec, conform

_TYPES: dict[str, pa.DataType] = {
    "signal_date": pa.date32(),
    "decision_at": UTC_TS,
    "horizon": pa.int32(),
}
_STRINGS = {
    "symbol", "direction", "regime", "sentiment_label", "drawdown_state", "model_version", "feature_snapshot_hash",
    "run_id",
}  # fmt: skip
_NULLABLE = {name for name, field in SignalRow.model_fields.items() if not field.is_required()}


def _field(name: str) -> pa.Field:
    dtype = _TYPES.get(name, pa.string() if name in _STRINGS else pa.float64())
    return pa.field(name, dtype, nullable=name in _NULLABLE)


SIGNALS = TableSpec(
    zone="gold",
    name="signals/daily",
    schema=pa.schema([_field(c) for c in SIGNAL_COLUMNS]),
    keys=("symbol", "signal_date", "horizon"),
    date_column="signal_date",
    partition_by=("signal_date",),
    description="Daily signals per instrument and horizon (D+1..D+10) with their evidence (SignalRow).",
)


# A deliverable dataset; the feeds stage adds it to the delivery catalog (assets/feeds/runner.py).
SIGNALS_FEED = FeedDataset(
    name="signals",
    path=("signals", "daily"),
    date_column="signal_date",
    symbol_column="symbol",
    description="Daily signals per instrument and horizon (contract: SignalRow, schema version "
    f"{SIGNALS_SCHEMA_VERSION}).",
    schema_model=SignalRow,
)


def validate_rows(frame: pd.DataFrame) -> None:
    """Every row must satisfy the SignalRow contract (ranges, literals, types); raises on the first that does not."""
    for record in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        SignalRow.model_validate(record)


def _day_hashes(table: pa.Table) -> dict[date, str]:
    """Content hash of each day's signals, the run id aside (a re-run producing the same signals changes nothing)."""
    if table.num_rows == 0:
        return {}
    frame = table.drop_columns(["run_id"]).to_pandas()
    return {
        day: content_hash(pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False))
        for day, rows in frame.groupby("signal_date", sort=True)
    }


def add_new_columns(storage: LakeStorage, spec: TableSpec = SIGNALS) -> list[str]:
    """Columns a later contract version added (nullable) are added to a table written under an earlier one.

    Its rows keep their values, with nulls in the new columns; nothing is rewritten. A new required column
    cannot be added this way and raises.
    """
    table = open_table(storage, spec)
    if table is None:
        return []
    have = set(table.schema().to_arrow().names)
    missing = [field for field in spec.schema if field.name not in have]
    required = [field.name for field in missing if not field.nullable]
    if required:
        raise ValueError(f"{spec.name}: new required columns {required} need a migration of the existing rows")
    if missing:
        table.alter.add_columns([DeltaField.from_arrow(field) for field in missing])
    return [field.name for field in missing]


def write_window(storage: LakeStorage, frame: pd.DataFrame, start: date, end: date) -> MergeStats:
    """Replace the signals of the days in [start, end] whose content changed (idempotent, run ids kept otherwise).

    Exactly the changed days are overwritten: a day that vanished from the new frame is deleted, a day whose
    rows are equal keeps its rows (and run id) byte for byte, wherever it lies in the window."""
    days = pd.to_datetime(frame["signal_date"])
    rows = frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))].copy()
    rows["signal_date"] = pd.to_datetime(rows["signal_date"]).dt.date
    validate_rows(rows)
    table = conform(pa.Table.from_pandas(rows[list(SIGNAL_COLUMNS)], preserve_index=False), SIGNALS)
    add_new_columns(storage)
    existing = read_table(storage, SIGNALS, filters=[("signal_date", ">=", start), ("signal_date", "<=", end)])
    old, new = _day_hashes(existing), _day_hashes(table)
    changed = sorted(day for day in set(old) | set(new) if old.get(day) != new.get(day))
    if not changed:
        return MergeStats(SIGNALS.name, table.num_rows, 0, unchanged=table.num_rows)
    keep = pc.is_in(table["signal_date"], value_set=pa.array(changed, pa.date32()))
    stats = replace_values(storage, SIGNALS, table.filter(keep), column="signal_date", values=changed)
    return MergeStats(SIGNALS.name, table.num_rows, stats.added, unchanged=table.num_rows - stats.added)
