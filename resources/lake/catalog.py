"""What is in the lake: every Delta table with its zone, rows, date range and columns (for `nexus status`)."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from pydantic import BaseModel

from resources.lake.delta import scan
from resources.lake.storage import ZONES, LakeStorage

# Preferred "when" column of a table, first match wins; otherwise the first date-typed column.
DATE_COLUMN_PREFERENCE = (
    "observed_date",
    "report_date",
    "observation_date",
    "period",
    "date",
    "signal_date",
    "as_of",
    "delivered_at",
    "fetched_at",
    "quarantined_at",
)


class TableInfo(BaseModel):
    zone: str
    name: str
    uri: str
    rows: int
    version: int
    date_column: str | None
    first_date: date | None
    last_date: date | None
    columns: list[str]


def _date_column(schema: pa.Schema) -> str | None:
    names = set(schema.names)
    for name in DATE_COLUMN_PREFERENCE:
        if name in names:
            return name
    for field in schema:
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            return field.name
    return None


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def describe_table(storage: LakeStorage, zone: str, uri: str) -> TableInfo:
    table = DeltaTable(uri, storage_options=storage.storage_options or None)
    schema = pa.schema(table.schema().to_arrow())
    date_col = _date_column(schema)
    first = last = None
    if date_col is not None:
        col = scan(storage, table, uri, columns=[date_col]).column(date_col)
        rows = len(col)
        if rows:
            bounds = pc.min_max(col)
            first, last = _as_date(bounds["min"].as_py()), _as_date(bounds["max"].as_py())
    else:
        rows = table.count()
    return TableInfo(
        zone=zone,
        name=storage.relative_name(uri, zone),  # type: ignore[arg-type]
        uri=uri,
        rows=rows,
        version=table.version(),
        date_column=date_col,
        first_date=first,
        last_date=last,
        columns=schema.names,
    )


def list_tables(storage: LakeStorage) -> list[TableInfo]:
    infos: list[TableInfo] = []
    for zone in ZONES:
        for uri in storage.list_delta_tables(zone):
            infos.append(describe_table(storage, zone, uri))
    return infos
