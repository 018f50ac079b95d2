"""CFTC's Public Reporting Environment (Socrata SODA 2) as a wire format: queries, pages and error bodies.

`GET {base}/resource/{dataset-id}.json` with SoQL parameters `$where`, `$order`, `$limit`, `$offset` returns a JSON
array of records: every value is a string (`"open_interest_all": "2058648"`), report dates are floating timestamps
(`"2024-12-31T00:00:00.000"`), and a field whose value is null is simply absent from the record. A query Socrata
cannot run answers HTTP 400 with an error object (`{"code": "query.soql.no-such-column", "error": true,
"message": "..."}`). Paging: ask for `$limit` rows from `$offset` in a total `$order`, until a page comes back
shorter than `$limit`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError

from resources.errors import NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.quarantine import Rejection
from resources.sources.cot.layouts import (
    FUTURES_FLAG,
    MARKET_CODE,
    MARKET_NAME,
    REPORT_DATE_API,
    ReportLayout,
)
from resources.sources.cot.rows import RawRows

# A total order, so that pages never overlap or skip rows.
ORDER = f"{REPORT_DATE_API},{MARKET_CODE.api_name}"
DATE_FORMAT = "%Y-%m-%d"  # the first ten characters of a floating timestamp


class SocrataError(BaseModel):
    """The error object Socrata returns instead of records."""

    model_config = ConfigDict(extra="allow")

    code: str
    error: bool = True
    message: str


def soql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def soql_timestamp(day: date) -> str:
    return soql_literal(f"{day.isoformat()}T00:00:00.000")


def soql_where(markets: Sequence[str], start: date | None, end: date | None) -> str:
    """Only the requested market codes, and report dates in [start, end] when given."""
    clauses = [f"{MARKET_CODE.api_name} in({','.join(soql_literal(m) for m in markets)})"]
    if start is not None:
        clauses.append(f"{REPORT_DATE_API} >= {soql_timestamp(start)}")
    if end is not None:
        clauses.append(f"{REPORT_DATE_API} <= {soql_timestamp(end)}")
    return " AND ".join(clauses)


def page_length(data: bytes) -> int | None:
    """Records in one page, or None when the body is not a JSON array (the parser will say what it is)."""
    try:
        records = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return len(records) if isinstance(records, list) else None


def _load(data: bytes, where: dict[str, object]) -> list[Any]:
    try:
        records = json.loads(data)
    except UnicodeDecodeError as exc:
        raise NotTabularError(f"not UTF-8 JSON (byte {exc.start})", **where) from None
    except json.JSONDecodeError as exc:
        line = exc.doc.count("\n", 0, exc.pos) + 1
        body = exc.doc.strip()
        if body.startswith("[") and not body.endswith("]"):  # an array that stops before its end
            raise TruncatedPayloadError(f"JSON ends part-way ({exc.msg})", row=line, **where) from None
        raise NotTabularError(f"not valid JSON ({exc.msg})", row=line, **where) from None
    if isinstance(records, dict):
        try:
            error = SocrataError.model_validate(records)
        except ValidationError:
            raise NotTabularError("a JSON object arrived instead of an array of records", **where) from None
        raise NotTabularError(f"the publisher answered with an error: {error.code}: {error.message}", **where)
    if not isinstance(records, list):
        raise NotTabularError(f"JSON {type(records).__name__} instead of an array of records", **where)
    return records


def _text(value: object) -> str | None:
    """Socrata's strings as they are; anything else as text that the validation will refuse or accept."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def read_json_rows(data: bytes, layout: ReportLayout, futures_default: bool, where: dict[str, object]) -> RawRows:
    """One Socrata page as text columns. An empty page is a valid, empty result (the end of paging)."""
    records = _load(data, where)
    kept = [i for i, r in enumerate(records) if isinstance(r, dict)]
    objects: list[dict[str, Any]] = [records[i] for i in kept]
    present: set[str] = set().union(*(o.keys() for o in objects)) if objects else set()
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for field in (MARKET_NAME, MARKET_CODE, *layout.positions):
        name = next((n for n in field.api_names if n in present), None)
        if name is None:
            missing.append(field.api_name)
        else:
            chosen[field.column] = name
    if REPORT_DATE_API not in present:
        missing.insert(0, REPORT_DATE_API)
    if objects and missing:
        raise SchemaMismatchError(f"{layout.title} records lack fields: {', '.join(missing)}", row=1, **where)

    def column(name: str | None) -> pa.Array:
        return pa.array([_text(o.get(name)) if name else None for o in objects], pa.string())

    dates = [_text(o.get(REPORT_DATE_API)) for o in objects]
    flags = [_text(o.get(FUTURES_FLAG.api_name)) for o in objects]
    return RawRows(
        columns={c: column(chosen.get(c)) for c in (MARKET_NAME.column, MARKET_CODE.column, *layout.position_columns)},
        dates=pa.array([d[:10] if d else d for d in dates], pa.string()),
        date_format=DATE_FORMAT,
        futures_flags=pa.array(flags, pa.string()) if any(f is not None for f in flags) else None,
        futures_default=futures_default,
        line_of=lambda k: kept[k] + 1,
        raw_of=lambda k: json.dumps(records[kept[k]])[:2000],
        headers={**chosen, "_date": REPORT_DATE_API},
        rejected=[
            Rejection(i + 1, "record is not a JSON object", json.dumps(r)[:2000], "BadRecord")
            for i, r in enumerate(records)
            if not isinstance(r, dict)
        ],
    )
