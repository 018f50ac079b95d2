"""Table contracts: each Delta table states its schema, natural key and date column once, here or beside its source.

`conform` enforces the schema on every write: missing or unexpected columns, or values that do not cast
safely, raise instead of silently widening the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from resources.lake.storage import Zone

UTC_TS = pa.timestamp("us", tz="UTC")

# Columns every bitemporal silver table carries, after its own key and value columns. available_at_derived: the
# lake derived available_at (a calendar rule or holiday shift; in live mode also a late first release dated at
# its first sight, then available_at == ingested_at: resources/sources/late_release.py).
BITEMPORAL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("available_at", UTC_TS, nullable=False),
    pa.field("available_at_derived", pa.bool_(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("is_revision", pa.bool_(), nullable=False),
    pa.field("ingested_at", UTC_TS, nullable=False),
    pa.field("source_sha256", pa.string(), nullable=False),
)
BITEMPORAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in BITEMPORAL_FIELDS)


@dataclass(frozen=True)
class TableSpec:
    """A Delta table's contract. `keys` is the natural key (without `version` for versioned tables)."""

    zone: Zone
    name: str
    schema: pa.Schema
    keys: tuple[str, ...]
    date_column: str | None = None
    description: str = ""
    partition_by: tuple[str, ...] = ()
    versioned: bool = False

    @property
    def value_columns(self) -> tuple[str, ...]:
        skip = set(self.keys) | set(BITEMPORAL_COLUMNS)
        return tuple(n for n in self.schema.names if n not in skip)

    def path_parts(self) -> tuple[str, ...]:
        return tuple(self.name.split("/"))


def bitemporal_schema(*fields: pa.Field) -> pa.Schema:
    """Schema of a versioned silver table: its own columns followed by the bitemporal ones."""
    return pa.schema([*fields, *BITEMPORAL_FIELDS])


class SchemaEnforcementError(ValueError):
    """Data offered to a table does not match the table's contract."""


def conform(data: pa.Table, spec: TableSpec, *, without: tuple[str, ...] = ()) -> pa.Table:
    """Select and cast `data` to the spec's schema, refusing missing or extra columns and unsafe casts.

    `without` names schema columns the caller will compute later (a versioned merge adds version columns).
    """
    schema = pa.schema([f for f in spec.schema if f.name not in without])
    expected = schema.names
    missing = [c for c in expected if c not in data.column_names]
    extra = [c for c in data.column_names if c not in expected]
    if missing or extra:
        raise SchemaEnforcementError(
            f"{spec.zone}/{spec.name}: columns do not match the table contract (missing={missing}, unexpected={extra})"
        )
    data = data.select(expected)
    try:
        data = data.cast(schema, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaEnforcementError(f"{spec.zone}/{spec.name}: {exc}") from exc
    for f in schema:
        if not f.nullable and data.column(f.name).null_count:
            raise SchemaEnforcementError(f"{spec.zone}/{spec.name}: column {f.name} has nulls")
    return data
