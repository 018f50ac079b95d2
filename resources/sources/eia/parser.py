"""Parse EIA payloads into the silver shape, whichever way they came: API v2 JSON pages or download CSVs.

`api_json` reads API pages, `download_csv` the files EIA's pages offer ("Download Data (CSV File)"); both yield
rows checked by `rows`. Here the payload is decoded (HTML, binary or empty bodies are refused), routed by its
first character, and each row gets its `available_at` from the release calendar (`calendar.py`): the WPSR or
WNGSR release of its week for weekly series, the weekly price refresh for daily prices. Whole-payload problems
raise a typed error naming source, dataset, file or URL and row; bad rows come back as rejections.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from resources.errors import NotTabularError
from resources.lake.bronze import RawPayload
from resources.sources.base import CutCandidate, ParseResult, parsed_columns
from resources.sources.eia.api_json import api_rows
from resources.sources.eia.calendar import Release, gas_storage_release, petroleum_release, price_release
from resources.sources.eia.download_csv import csv_rows, series_from_preamble
from resources.sources.eia.rows import MISSING_MARKERS, Row
from resources.sources.eia.spec import SERIES, SOURCE, TABLE_BY_CADENCE, Cadence, Schedule


def parse_weekly_series(payload: RawPayload) -> ParseResult:
    """A weekly payload (API page or download CSV) as `eia/weekly_series` rows."""
    return parse_eia(payload, "weekly")


def parse_daily_prices(payload: RawPayload) -> ParseResult:
    """A daily payload (API page or download CSV) as `eia/daily_prices` rows."""
    return parse_eia(payload, "daily")


def parse_eia(payload: RawPayload, cadence: Cadence) -> ParseResult:
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    text = _decode(payload, where)
    cut = None
    if text.lstrip()[:1] in ("{", "["):
        rows, rejections, hint = api_rows(text, cadence, where)
    else:
        rows, rejections, hint, tail = csv_rows(text, cadence, where)
        if tail is not None:
            row, line_no, value_text = tail
            cut = CutCandidate({"series_id": row.series_id, "period": row.period}, "value", value_text, line_no)
    return ParseResult(table=_table(rows, cadence, hint), rejections=rejections, cut_candidate=cut)


def _decode(payload: RawPayload, where: dict[str, Any]) -> str:
    if not payload.data or payload.data.isspace():  # isspace, not strip: no copy of a huge payload
        raise NotTabularError("empty payload", **where)
    if b"\x00" in payload.data:
        raise NotTabularError("binary data arrived instead of JSON or CSV", **where)
    try:
        text = payload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotTabularError(f"not UTF-8 text (byte {exc.start})", **where) from None
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise NotTabularError("an HTML page arrived instead of EIA data", **where)
    return text


def _release(series_id: str, period: date, cadence: Cadence, hint: Schedule) -> Release:
    if cadence == "daily":
        return price_release(period)
    known = SERIES.get(series_id)
    schedule = known.schedule if known is not None and known.cadence == "weekly" else hint
    return gas_storage_release(period) if schedule == "gas_storage" else petroleum_release(period)


def _table(rows: list[Row], cadence: Cadence, hint: Schedule) -> pa.Table:
    releases = [_release(r.series_id, r.period, cadence, hint) for r in rows]
    table = pa.table(
        {
            "series_id": pa.array([r.series_id for r in rows], pa.string()),
            "period": pa.array([r.period for r in rows], pa.date32()),
            "value": pa.array([r.value for r in rows], pa.float64()),
            "units": pa.array([r.units for r in rows], pa.string()),
            "available_at": pa.array([r.at for r in releases], pa.timestamp("us", tz="UTC")),
            "available_at_derived": pa.array([r.derived for r in releases], pa.bool_()),
        }
    )
    assert table.column_names == parsed_columns(TABLE_BY_CADENCE[cadence])
    return table


__all__ = ["MISSING_MARKERS", "parse_daily_prices", "parse_eia", "parse_weekly_series", "series_from_preamble"]
