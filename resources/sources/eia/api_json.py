"""Rows of an EIA API v2 JSON page (see `wire.py` for the envelope): typed errors for the page, rejections per record.

A page must hold the rows its `total` and echoed offset/length promise (else it was cut short); an error body,
even with HTTP 200 as before API 2.1.10, is refused with EIA's message (credentials redacted); the first record
must carry `period`, `series`, `value` and `units` (`value` is absent when `data[0]=value` was not asked).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from pydantic import ValidationError

from resources.errors import NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.redact import redact_text
from resources.sources.eia.rows import BadRow, Row, check_period, check_units, parse_value, safe_date
from resources.sources.eia.spec import PAGE_SIZE, ROUTES, SOURCE, Cadence, Schedule
from resources.sources.eia.wire import REQUIRED_ROW_FIELDS, DataEnvelope, error_message

log = logging.getLogger(__name__)
_API_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_SERIES_ID = re.compile(r"^[A-Z0-9][A-Z0-9_]{1,59}$")


def _load_json(text: str, where: dict[str, Any]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        if exc.pos >= len(body) - 1 or exc.msg.startswith("Unterminated string"):
            raise TruncatedPayloadError(f"JSON stops at byte {len(body)} (cut-off response)", **where) from None
        raise NotTabularError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", **where) from None
    except RecursionError:
        raise NotTabularError("JSON nested too deeply to be an EIA response", **where) from None


def api_rows(text: str, cadence: Cadence, where: dict[str, Any]) -> tuple[list[Row], list[Rejection], Schedule]:
    document = _load_json(text, where)
    if not isinstance(document, dict):
        raise NotTabularError("JSON is not an EIA API v2 response object", **where)
    message = error_message(document)
    if message is not None:
        raise NotTabularError(f"EIA API error {redact_text(message)[:300]}", **where)
    if not isinstance(document.get("response"), dict):
        raise SchemaMismatchError("no 'response' object in the JSON", **where)
    try:
        envelope = DataEnvelope.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise SchemaMismatchError(f"response does not match API v2 ({loc}: {first['msg']})", **where) from None
    response = envelope.response
    if response.frequency and response.frequency != cadence:
        raise SchemaMismatchError(f"{response.frequency} data offered to the {cadence} table", **where)
    for warning in response.warnings:
        log.info("%s %s: EIA warning %r: %s", SOURCE, where["dataset"], warning.warning, warning.description)
    promised = envelope.promised_rows(PAGE_SIZE)
    if promised is not None and len(response.data) < promised:
        raise TruncatedPayloadError(
            f"page holds {len(response.data)} rows, EIA announced {promised} (total {response.total})", **where
        )
    hint = _api_schedule(envelope.request.command)
    if not response.data:
        return [], [], hint
    first = response.data[0]
    if isinstance(first, dict):
        for name in REQUIRED_ROW_FIELDS:
            if name not in first:
                advice = " (was data[0]=value requested?)" if name == "value" else ""
                raise SchemaMismatchError(f"field {name!r} missing from the data rows{advice}", row=1, **where)

    rows: list[Row] = []
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[tuple[str, date], int] = {}
    for number, record in enumerate(response.data, start=1):
        try:
            row = _api_row(record, cadence)
            first_seen = seen.get((row.series_id, row.period))
            if first_seen is not None:
                raise BadRow(
                    f"duplicate {row.series_id} {row.period.isoformat()} (first in record {first_seen})", "Duplicate"
                )
        except BadRow as bad:
            rejections.append(Rejection(number, str(bad), _raw_json(record), bad.kind))
            continue
        seen[(row.series_id, row.period)] = number
        rows.append(row)
    return rows, rejections, hint


def _api_row(record: object, cadence: Cadence) -> Row:
    if not isinstance(record, dict):
        raise BadRow("data record is not an object", "BadRecord")
    missing = [name for name in REQUIRED_ROW_FIELDS if name not in record]
    if missing:
        raise BadRow(f"missing field(s) {', '.join(missing)}", "MissingField")
    series = record["series"]
    if not isinstance(series, str) or not _SERIES_ID.match(series.strip().upper()):
        raise BadRow(f"bad series id {series!r}", "BadSeries")
    series_id = series.strip().upper()
    period = record["period"]
    match = _API_DATE.match(period) if isinstance(period, str) else None
    day = safe_date(*(int(g) for g in match.groups())) if match else None
    if day is None:
        raise BadRow(f"bad period {period!r} (want YYYY-MM-DD)", "BadDate")
    check_period(day, cadence)
    units = record["units"]
    if not isinstance(units, str) or not units.strip():
        raise BadRow(f"missing units {units!r}", "BadUnits")
    check_units(series_id, units.strip())
    return Row(series_id, day, parse_value(record["value"]), units.strip())


def _api_schedule(command: str | None) -> Schedule:
    for route in ROUTES:
        if command and route.path in command:
            return route.schedule
    return "gas_storage" if command and "natural-gas/stor" in command else "petroleum"


def _raw_json(record: object) -> str:
    try:
        return json.dumps(record, separators=(",", ":"))[:2000]
    except (TypeError, ValueError):
        return repr(record)[:2000]
