"""The gold signals table: schema from the SignalRow contract, partitioned by signal date, replaced per window."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa

from assets.signals.build import SIGNAL_COLUMNS
from assets.signals.contract import SignalRow
from resources.lake.delta import MergeStats, replace_where
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec

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


def validate_rows(frame: pd.DataFrame) -> None:
    """Every row must satisfy the SignalRow contract (ranges, literals, types); raises on the first that does not."""
    for record in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        SignalRow.model_validate(record)


def write_window(storage: LakeStorage, frame: pd.DataFrame, start: date, end: date) -> MergeStats:
    """Replace the signals of [start, end] with `frame`'s rows of that window (idempotent)."""
    days = pd.to_datetime(frame["signal_date"])
    rows = frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))].copy()
    rows["signal_date"] = pd.to_datetime(rows["signal_date"]).dt.date
    validate_rows(rows)
    table = pa.Table.from_pandas(rows[list(SIGNAL_COLUMNS)], preserve_index=False)
    return replace_where(storage, SIGNALS, table, column="signal_date", start=start, end=end)
