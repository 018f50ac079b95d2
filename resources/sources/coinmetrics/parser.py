"""Parse Coin Metrics payloads into the long silver shape: API v4 JSON pages and community CSV files.

API pages (`/timeseries/asset-metrics`): `{"data": [{"asset", "time", <metric>: "<number as string>" | null}],
"next_page_url"}`; an absent metric key means the asset does not publish it, null means no value that day.
Community CSVs (`btc.csv`): one row per UTC day, the date column named `time` (current files, API style) or `date`
(older downloads), one column per metric, empty cells where there is no value; the asset is the file name unless
an `asset` column says otherwise. Every metric present is kept (not only the universe's), so nothing is lost.

Missing markers (empty, `NA`, `null`, ...) are absences, not errors. Whole-payload problems raise a typed error;
bad rows are returned as rejections with their line (CSV) or record (JSON) number.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import date

import pyarrow as pa
from pydantic import ValidationError

from resources.errors import (
    EmptyPayloadError,
    NotTabularError,
    SchemaMismatchError,
    TruncatedPayloadError,
)
from resources.lake.bronze import RawPayload
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.sources.base import CutCandidate, ParseResult, parsed_columns
from resources.sources.coinmetrics.spec import (
    API_DATASET,
    ASSET_METRICS,
    ASSET_RE,
    METRIC_RE,
    REQUIRED_CSV_METRICS,
    SOURCE,
    TEXT_METRICS,
    available_at,
)
from resources.sources.coinmetrics.wire import AssetMetricsPage, ErrorResponse
from resources.sources.text_lines import iter_lines
from resources.sources.truncation import COINMETRICS, check_tail

MISSING = frozenset({"", ".", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "nan", "NaN"})
# `2020-01-01`, `20200101`, or a midnight timestamp `2020-01-01T00:00:00[.000000000][Z]` (daily rows only).
_DAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:[T ]00:00:00(?:\.0{1,9})?Z?)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_KEY_FIELDS = ("asset", "time")
_STATUS_SUFFIXES = ("-status", "-status-time")


def asset_from_name(name: str) -> str:
    """`/data/btc.csv` -> `btc` (Coin Metrics names community files after the asset id)."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1].split("?")[0]
    return stem.rsplit(".", 1)[0].strip().lower()


def parse_day(text: str) -> date | None:
    match = _DAY.match(text.strip())
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def parse_value(raw: object) -> float | None:
    """A metric value: None for missing markers, a float otherwise; ValueError when it is not a finite number."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(repr(raw))
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            raise ValueError(repr(raw)) from None
    elif isinstance(raw, str):
        text = raw.strip()
        if text in MISSING:
            return None
        if not _NUMBER.match(text):
            raise ValueError(text)
        value = float(text)
    else:
        raise ValueError(repr(raw))
    if not math.isfinite(value):
        raise ValueError(repr(raw))
    return value


class _Cells:
    """Accumulates (asset, metric, day, value) cells and builds the silver-shaped table."""

    def __init__(self) -> None:
        self.assets: list[str] = []
        self.metrics: list[str] = []
        self.days: list[date] = []
        self.values: list[float] = []

    def add(self, asset: str, day: date, values: dict[str, float]) -> None:
        for metric, value in values.items():
            self.assets.append(asset)
            self.metrics.append(metric)
            self.days.append(day)
            self.values.append(value)

    def table(self) -> pa.Table:
        n = len(self.values)
        public = {d: available_at(d) for d in set(self.days)}
        table = pa.table(
            {
                "asset": pa.array(self.assets, pa.string()),
                "metric": pa.array(self.metrics, pa.string()),
                "observed_date": pa.array(self.days, pa.date32()),
                "value": pa.array(self.values, pa.float64()),
                "available_at": pa.array([public[d] for d in self.days], pa.timestamp("us", tz="UTC")),
                "available_at_derived": pa.array([False] * n, pa.bool_()),
            }
        )
        if n:
            table = table.sort_by([("asset", "ascending"), ("metric", "ascending"), ("observed_date", "ascending")])
        assert table.column_names == parsed_columns(ASSET_METRICS)
        return table


def _where(payload: RawPayload) -> dict[str, str]:
    return {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}


def _decode(payload: RawPayload, expected: str) -> str:
    where = _where(payload)
    if b"\x00" in payload.data[:4096]:
        raise NotTabularError(f"binary data arrived instead of {expected}", **where)
    try:
        text = payload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotTabularError(f"not UTF-8 text (byte {exc.start})", **where) from None
    if not text or text.isspace():  # isspace, not strip: no copy of a huge payload
        raise NotTabularError("empty payload", **where)
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise NotTabularError(f"an HTML page arrived instead of {expected}", **where)
    return text


# --- API v4 JSON -----------------------------------------------------------------------------------------------


def parse_asset_metrics_json(payload: RawPayload) -> ParseResult:
    """Rows of one `/timeseries/asset-metrics` page in the silver shape; raises for whole-page problems."""
    where = _where(payload)
    text = _decode(payload, "JSON").strip()
    if not text.startswith("{"):
        raise NotTabularError(f"not a JSON object (starts with {text[:20]!r})", **where)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) - 1 or exc.msg.startswith("Unterminated"):
            raise TruncatedPayloadError(f"JSON ends early (char {exc.pos} of {len(text)})", **where) from None
        raise NotTabularError(f"invalid JSON: {exc.msg} at char {exc.pos}", **where) from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise NotTabularError(f"invalid JSON: {str(exc)[:120]}", **where) from None
    except RecursionError:
        raise NotTabularError("JSON nested too deeply", **where) from None
    if not isinstance(doc, dict):
        raise NotTabularError("not a JSON object", **where)
    if "error" in doc:
        try:
            error = ErrorResponse.model_validate(doc).error
            detail = f"{error.type}: {error.message}"
        except ValidationError:
            detail = str(doc["error"])[:300]
        raise NotTabularError(f"Coin Metrics answered an error ({detail})", **where)
    try:
        page = AssetMetricsPage.model_validate(doc)
    except ValidationError:
        keys = ", ".join(sorted(map(str, doc)))[:200]
        raise SchemaMismatchError(f"no 'data' array in the response (keys: {keys})", **where) from None

    cells = _Cells()
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[tuple[str, date], int] = {}
    for record_no, item in enumerate(page.data, start=1):
        raw = json.dumps(item, sort_keys=True, default=str)[:2000]
        if not isinstance(item, dict):
            rejections.append(Rejection(record_no, "record is not a JSON object", raw, "BadRecord"))
            continue
        missing = [k for k in _KEY_FIELDS if not isinstance(item.get(k), str)]
        if missing:
            rejections.append(Rejection(record_no, f"missing field {missing[0]!r}", raw, "MissingField"))
            continue
        asset = item["asset"].strip().lower()
        if not ASSET_RE.match(asset):
            rejections.append(Rejection(record_no, f"bad asset {item['asset']!r}", raw, "BadAsset"))
            continue
        day = parse_day(item["time"])
        if day is None:
            rejections.append(Rejection(record_no, f"bad time {item['time']!r} (want a UTC midnight)", raw, "BadDate"))
            continue
        if (asset, day) in seen:
            reason = f"duplicate {asset} {day.isoformat()} (first at record {seen[asset, day]})"
            rejections.append(Rejection(record_no, reason, raw, "Duplicate"))
            continue
        values, bad = _record_values(item)
        if bad is not None:
            rejections.append(Rejection(record_no, bad, raw, "BadValue"))
            continue
        seen[asset, day] = record_no
        cells.add(asset, day, values)
    return ParseResult(table=cells.table(), rejections=rejections)


def _record_values(item: dict[str, object]) -> tuple[dict[str, float], str | None]:
    values: dict[str, float] = {}
    for key, raw in item.items():
        if key in _KEY_FIELDS or not isinstance(key, str) or key.endswith(_STATUS_SUFFIXES):
            continue
        if not METRIC_RE.match(key):
            return values, f"bad metric name {key[:80]!r}"
        if key in TEXT_METRICS:
            continue
        try:
            value = parse_value(raw)
        except ValueError:
            return values, f"non-numeric {key} {str(raw)[:80]!r}"
        if value is not None:
            values[key] = value
    return values, None


# --- community CSV ---------------------------------------------------------------------------------------------


def parse_community_csv(payload: RawPayload) -> ParseResult:
    """Rows of one community CSV (`<asset>.csv`) in the silver shape; raises for whole-file problems."""
    where = _where(payload)
    text = _decode(payload, "CSV")
    if text.lstrip().startswith(("{", "[")):
        raise NotTabularError("JSON arrived instead of CSV", **where)
    tail = check_tail(text, COINMETRICS, where)
    last_line = text.count("\n") + 1
    cut: CutCandidate | None = None
    reader = csv.reader(iter_lines(text, keepends=True))  # lazily: no copy of a huge bad file
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise NotTabularError(f"unreadable CSV header: {exc}", row=1, **where) from None
    if not header or not any(h.strip() for h in header):
        raise SchemaMismatchError("no header line", row=1, **where)
    names = [h.strip() for h in header]
    date_idx, asset_idx, metric_idx = _layout(names, where)
    default_asset = payload.dataset.strip().lower()
    if asset_idx is None and not ASSET_RE.match(default_asset):
        raise SchemaMismatchError(f"cannot tell the asset: file name {default_asset!r} and no asset column", **where)

    width = len(names)
    cells = _Cells()
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[tuple[str, date], int] = {}
    rows_read = 0
    last_short: tuple[int, int] | None = None  # (line, fields) when the last row read was short
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise NotTabularError(f"unreadable CSV: {exc}", row=reader.line_num, **where) from None
        line_no = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        rows_read += 1
        raw = ",".join(fields)
        last_short = (line_no, len(fields)) if len(fields) < width else None
        if len(fields) != width:
            kind = "ShortRow" if len(fields) < width else "LongRow"
            rejections.append(Rejection(line_no, f"expected {width} fields, found {len(fields)}", raw, kind))
            continue
        day = parse_day(fields[date_idx])
        if day is None:
            reason = f"bad {names[date_idx]} {fields[date_idx][:40]!r} (want YYYY-MM-DD)"
            rejections.append(Rejection(line_no, reason, raw, "BadDate"))
            continue
        asset = fields[asset_idx].strip().lower() if asset_idx is not None else default_asset
        if not ASSET_RE.match(asset):
            rejections.append(Rejection(line_no, f"bad asset {asset[:40]!r}", raw, "BadAsset"))
            continue
        if (asset, day) in seen:
            reason = f"duplicate {asset} {day.isoformat()} (first on line {seen[asset, day]})"
            rejections.append(Rejection(line_no, reason, raw, "Duplicate"))
            continue
        values: dict[str, float] = {}
        bad = None
        for idx, metric in metric_idx:
            try:
                value = parse_value(fields[idx])
            except ValueError:
                bad = f"non-numeric {metric} {fields[idx][:80]!r}"
                break
            if value is not None:
                values[metric] = value
        if bad is not None:
            rejections.append(Rejection(line_no, bad, raw, "BadValue"))
            continue
        seen[asset, day] = line_no
        cells.add(asset, day, values)
        if tail is not None and line_no == last_line and names[-1] in values:
            key = {"asset": asset, "metric": names[-1], "observed_date": day}
            cut = CutCandidate(key, "value", tail.value_text, line_no)

    if rows_read == 0:
        raise EmptyPayloadError("header but no data rows", row=1, **where)
    if last_short is not None and not text.endswith(("\n", "\r")):
        line_no, found = last_short
        raise TruncatedPayloadError(f"file ends mid-row ({found} of {width} fields)", row=line_no, **where)
    return ParseResult(table=cells.table(), rejections=rejections, cut_candidate=cut)


def _layout(names: list[str], where: dict[str, str]) -> tuple[int, int | None, list[tuple[int, str]]]:
    """(date column, asset column or None, [(index, metric)]) of a community CSV header."""
    lower = [n.lower() for n in names]
    header = ",".join(names)[:300]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaMismatchError(f"duplicate columns {dupes}", row=1, **where)
    if "time" in lower:
        date_idx = lower.index("time")
    elif "date" in lower:
        date_idx = lower.index("date")
    else:
        raise SchemaMismatchError(
            f"missing date column 'time' (or 'date' in older downloads) (header: {header})", row=1, **where
        )
    asset_idx = lower.index("asset") if "asset" in lower else None
    metric_idx: list[tuple[int, str]] = []
    for idx, name in enumerate(names):
        if idx in (date_idx, asset_idx):
            continue
        if not METRIC_RE.match(name):
            raise SchemaMismatchError(f"bad column name {name[:60]!r} (header: {header})", row=1, **where)
        if name not in TEXT_METRICS:
            metric_idx.append((idx, name))
    present = {name for _, name in metric_idx}
    for required in REQUIRED_CSV_METRICS:
        if required in present:
            continue
        renamed = [n for n in names if n.lower() == required.lower()]
        reason = f"column {required} renamed to {renamed[0]!r}" if renamed else f"missing column {required}"
        raise SchemaMismatchError(f"{reason} (header: {header})", row=1, **where)
    return date_idx, asset_idx, metric_idx


def parse_coinmetrics(payload: RawPayload) -> ParseResult:
    """The parser `land_payloads` uses: API pages are JSON, every other payload is a community CSV."""
    if payload.dataset == API_DATASET:
        return parse_asset_metrics_json(payload)
    return parse_community_csv(payload)
