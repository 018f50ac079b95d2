"""Encode a table in a client's format, byte-for-byte deterministic so that a re-delivery can be recognised."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from resources.feeds.clients import FeedFormat

EXTENSIONS: dict[str, str] = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def encode(table: pa.Table, fmt: FeedFormat) -> bytes:
    if fmt == "parquet":
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd", use_dictionary=False, write_statistics=True)
        return buffer.getvalue()
    if fmt == "csv":
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
        return buffer.getvalue()
    if fmt == "jsonl":
        lines = [
            json.dumps({k: _plain(v) for k, v in row.items()}, sort_keys=True, separators=(",", ":"))
            for row in table.to_pylist()
        ]
        return ("\n".join(lines) + ("\n" if lines else "")).encode()
    raise ValueError(f"unknown feed format {fmt!r}")
