"""Parse FRED API answers (XML or JSON) into silver rows: vintaged observations and series metadata.

fredapi builds the requests, but its parsers keep only the date and value (or a pandas Series of attributes)
and raise a bare ValueError on anything unexpected; bronze holds the exact bytes, and these parsers read them
with row-level rejections and typed errors instead.

Observation rows come from `output_type=1` (observations by real-time period): one row per observation date and
vintage, `realtime_start` being the first day the value was current. A page is only accepted when its real-time
period starts at FRED's earliest date, because otherwise FRED clips realtime_start to the period's start and the
rows would claim vintages that never existed. Row numbers in errors are the observation's position in the page
(for a cut-off page: the last observation begun).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pyarrow as pa
from pydantic import ValidationError

from resources.errors import EmptyPayloadError, SchemaMismatchError
from resources.lake.bronze import RawPayload
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.sources.base import ParseResult, parsed_columns
from resources.sources.fred.calendar import vintage_available_at
from resources.sources.fred.spec import EARLIEST_REALTIME, MISSING, OBSERVATIONS, SERIES, SOURCE
from resources.sources.fred.wire import (
    ObservationPage,
    SeriesEnvelope,
    WireSeries,
    decode,
    envelope_model,
    iso_date,
)

OBSERVATION_FIELDS = ("realtime_start", "realtime_end", "date", "value")


def _raw(row: dict[str, object]) -> str:
    return " ".join(f'{k}="{v}"' for k, v in row.items())[:2000]


def parse_value(text: object) -> float | None:
    """FRED's value text: '.' is missing (null); anything else must be a finite number (ValueError if not)."""
    if not isinstance(text, str):
        raise ValueError(repr(text))
    text = text.strip()
    if text == MISSING:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_observations(payload: RawPayload) -> ParseResult:
    """One fred/series/observations page of series `payload.dataset` in the silver shape."""
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    envelope = decode(payload, root="observations", row="observation")
    page = envelope_model(payload, envelope, ObservationPage)
    if page.output_type != 1:
        raise SchemaMismatchError(
            f"output_type {page.output_type}: only 1 (observations by real-time period) has one row per vintage",
            row=1,
            **where,
        )
    if page.units != "lin":
        raise SchemaMismatchError(f"units {page.units!r}: only levels ('lin') are stored", row=1, **where)
    if envelope.rows:
        missing = [f for f in OBSERVATION_FIELDS if f not in envelope.rows[0]]
        if missing:
            raise SchemaMismatchError(f"observation has no {', '.join(missing)}", row=1, **where)
    clipped = page.realtime_start > EARLIEST_REALTIME

    series_id = payload.dataset.upper()
    dates: list[date] = []
    starts: list[date] = []
    values: list[float | None] = []
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[tuple[date, date], int] = {}
    for number, row in enumerate(envelope.rows, start=1):
        absent = [f for f in OBSERVATION_FIELDS if f not in row]
        if absent:
            rejections.append(Rejection(number, f"missing {', '.join(absent)}", _raw(row), "MissingField"))
            continue
        day, start, end = iso_date(row["date"]), iso_date(row["realtime_start"]), iso_date(row["realtime_end"])
        if day is None or start is None or end is None:
            rejections.append(Rejection(number, "a date is not YYYY-MM-DD", _raw(row), "BadDate"))
            continue
        if end < start:
            rejections.append(
                Rejection(number, f"realtime_end {end} before realtime_start {start}", _raw(row), "BadVintage")
            )
            continue
        if clipped and start == page.realtime_start:
            raise SchemaMismatchError(
                f"real-time period starts {page.realtime_start}, so FRED clipped this vintage's start; "
                f"request realtime_start={EARLIEST_REALTIME}",
                row=number,
                **where,
            )
        if (day, start) in seen:
            rejections.append(
                Rejection(
                    number,
                    f"duplicate observation {day} vintage {start} (first at observation {seen[(day, start)]})",
                    _raw(row),
                    "Duplicate",
                )
            )
            continue
        try:
            value = parse_value(row["value"])
        except ValueError:
            rejections.append(Rejection(number, f"non-numeric value {row['value']!r}", _raw(row), "BadValue"))
            continue
        seen[(day, start)] = number
        dates.append(day)
        starts.append(start)
        values.append(value)

    n = len(dates)
    table = pa.table(
        {
            "series_id": pa.array([series_id] * n, pa.string()),
            "observation_date": pa.array(dates, pa.date32()),
            "realtime_start": pa.array(starts, pa.date32()),
            "value": pa.array(values, pa.float64()),
            "vintage_inferred": pa.array([False] * n, pa.bool_()),
            "available_at": pa.array([vintage_available_at(s) for s in starts], pa.timestamp("us", tz="UTC")),
            "available_at_derived": pa.array([True] * n, pa.bool_()),
        }
    )
    assert table.column_names == parsed_columns(OBSERVATIONS)
    return ParseResult(table=table, rejections=rejections)


def parse_last_updated(text: str) -> datetime | None:
    """FRED's `2013-07-31 09:26:16-05` (Central time with an hour-only offset) as UTC; None if malformed."""
    text = text.strip()
    if len(text) >= 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += "00"
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S%z")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


_SERIES_TEXT = (
    "title",
    "units",
    "units_short",
    "frequency",
    "frequency_short",
    "seasonal_adjustment",
    "seasonal_adjustment_short",
    "notes",
)


def parse_series(payload: RawPayload) -> ParseResult:
    """A fred/series answer (metadata of series `payload.dataset`) in the silver shape."""
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    envelope = decode(payload, root="seriess", row="series")
    envelope_model(payload, envelope, SeriesEnvelope)
    if not envelope.rows:
        raise EmptyPayloadError("no series in the answer", row=1, **where)
    if "id" not in envelope.rows[0] or "title" not in envelope.rows[0]:
        raise SchemaMismatchError("series has no id or title", row=1, **where)
    rows: list[dict[str, object]] = []
    rejections: list[Rejection] = BoundedRejections()
    for number, raw in enumerate(envelope.rows, start=1):
        try:
            item = WireSeries.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            rejections.append(Rejection(number, f"{field}: {first['msg']}", _raw(raw), "BadValue"))
            continue
        updated = parse_last_updated(item.last_updated)
        if updated is None:
            rejections.append(Rejection(number, f"bad last_updated {item.last_updated!r}", _raw(raw), "BadDate"))
            continue
        if item.id.upper() != payload.dataset.upper():
            rejections.append(
                Rejection(number, f"series {item.id!r}, asked for {payload.dataset!r}", _raw(raw), "WrongSeries")
            )
            continue
        rows.append(
            {
                "series_id": item.id.upper(),
                **{name: getattr(item, name) for name in _SERIES_TEXT[:-1]},
                "observation_start": item.observation_start,
                "observation_end": item.observation_end,
                "last_updated": updated,
                "popularity": item.popularity,
                "notes": item.notes,
                "available_at": updated,
                "available_at_derived": False,
            }
        )
    schema = pa.schema([SERIES.schema.field(c) for c in parsed_columns(SERIES)])
    table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
    return ParseResult(table=table, rejections=rejections)
