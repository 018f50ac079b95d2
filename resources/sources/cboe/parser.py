"""Parse Cboe's `<SYMBOL>_History.csv` files.

Accepted layouts: `DATE,OPEN,HIGH,LOW,CLOSE` and `DATE,<SYMBOL>` (SKEW, VVIX), dates `MM/DD/YYYY` (or `M/D/YYYY`),
an optional UTF-8 BOM, CRLF or LF, and up to a few preamble lines before the header. Older Cboe downloads
(`vixcurrent.csv` and friends) had a disclaimer line above `Date,VIX Open,VIX High,VIX Low,VIX Close`: column
names prefixed with the symbol, in any case.
Whole-file problems raise a typed error; bad rows are returned as rejections with their line number.
"""

from __future__ import annotations

import csv
import itertools
import re
from datetime import date

import pyarrow as pa

from resources.errors import EmptyPayloadError, NotTabularError, SchemaMismatchError
from resources.lake.bronze import RawPayload
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.sources.base import ParseResult, at_new_york, parsed_columns
from resources.sources.cboe.spec import CLOSE_TIME_NY, INDEX_CLOSES, SOURCE
from resources.sources.text_lines import iter_lines
from resources.sources.truncation import CBOE, check_tail

_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_MAX_PREAMBLE = 5


def symbol_from_name(name: str) -> str:
    """`VIX3M_History.csv` -> `VIX3M`."""
    stem = name.rsplit("/", 1)[-1].split("?")[0]
    return stem.split("_History", 1)[0].split(".", 1)[0].upper()


def _decode(payload: RawPayload) -> str:
    try:
        text = payload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotTabularError(
            f"not UTF-8 text (byte {exc.start})",
            source=SOURCE,
            dataset=payload.dataset,
            location=payload.location,
        ) from None
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise NotTabularError(
            "an HTML page arrived instead of CSV",
            source=SOURCE,
            dataset=payload.dataset,
            location=payload.location,
        )
    if head.startswith(("{", "[")):
        raise NotTabularError(
            "JSON arrived instead of CSV", source=SOURCE, dataset=payload.dataset, location=payload.location
        )
    if not text or text.isspace():  # isspace, not strip: no copy of a huge payload
        raise NotTabularError("empty payload", source=SOURCE, dataset=payload.dataset, location=payload.location)
    return text


def _column_name(header: str, symbol: str) -> str:
    """A header cell, upper case, without the symbol prefix older files carry (`VIX Open` -> `OPEN`)."""
    name = " ".join(header.split()).upper()
    prefix = f"{symbol} "
    return name[len(prefix) :] if name.startswith(prefix) and name != f"{symbol} {symbol}" else name


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text)
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _parse_number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)  # ValueError for non-numeric, handled by the caller
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def parse_cboe_csv(payload: RawPayload) -> ParseResult:
    """Rows of one Cboe history file in the silver shape; raises for whole-file problems."""
    symbol = payload.dataset.upper()
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    text = _decode(payload)
    check_tail(text, CBOE, where)
    lines = iter_lines(text, keepends=True)  # lazily: bad input stops at the bad-row bound, not after a copy

    header_at = None
    for i, line in enumerate(itertools.islice(lines, _MAX_PREAMBLE + 1)):
        if line.strip().upper().startswith("DATE"):
            header_at, header_line = i, line
            break
    if header_at is None:
        raise SchemaMismatchError("no header line starting with DATE", row=1, **where)
    header = [_column_name(h, symbol) for h in next(csv.reader([header_line.rstrip("\r\n")]))]
    if "CLOSE" in header:
        layout = {name: header.index(name) if name in header else None for name in ("OPEN", "HIGH", "LOW", "CLOSE")}
    elif symbol in header:
        layout = {"OPEN": None, "HIGH": None, "LOW": None, "CLOSE": header.index(symbol)}
    elif len(header) == 2 and header[0] == "DATE":
        raise SchemaMismatchError(
            f"value column is {header[1]!r}, expected {symbol!r} or CLOSE", row=header_at + 1, **where
        )
    else:
        raise SchemaMismatchError(f"missing column CLOSE (header: {','.join(header)})", row=header_at + 1, **where)
    date_idx = header.index("DATE")
    width = len(header)

    rows: dict[str, list[object]] = {c: [] for c in ("observed_date", "open", "high", "low", "close")}
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[date, int] = {}
    reader = csv.reader(lines)
    for offset, fields in enumerate(reader):
        line_no = header_at + 2 + offset
        raw = ",".join(fields)
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) < width:
            rejections.append(Rejection(line_no, f"expected {width} fields, found {len(fields)}", raw, "ShortRow"))
            continue
        day = _parse_date(fields[date_idx])
        if day is None:
            rejections.append(Rejection(line_no, f"bad date {fields[date_idx]!r} (want MM/DD/YYYY)", raw, "BadDate"))
            continue
        if day in seen:
            rejections.append(
                Rejection(line_no, f"duplicate date {day.isoformat()} (first on line {seen[day]})", raw, "Duplicate")
            )
            continue
        values: dict[str, float | None] = {}
        bad = None
        for name, idx in layout.items():
            if idx is None:
                values[name] = None
                continue
            try:
                values[name] = _parse_number(fields[idx])
            except ValueError:
                bad = f"non-numeric {name} {fields[idx]!r}"
                break
        if bad is None and values["CLOSE"] is None:
            bad = "missing CLOSE"
        if bad is None and values["CLOSE"] is not None and values["CLOSE"] <= 0:
            bad = f"non-positive CLOSE {values['CLOSE']}"
        if bad is not None:
            rejections.append(Rejection(line_no, bad, raw, "BadValue"))
            continue
        seen[day] = line_no
        rows["observed_date"].append(day)
        rows["open"].append(values["OPEN"])
        rows["high"].append(values["HIGH"])
        rows["low"].append(values["LOW"])
        rows["close"].append(values["CLOSE"])

    if not rows["observed_date"] and not rejections:
        raise EmptyPayloadError("header but no data rows", row=header_at + 1, **where)

    n = len(rows["observed_date"])
    close_h, close_m = CLOSE_TIME_NY
    available = [at_new_york(d, close_h, close_m) for d in rows["observed_date"]]  # type: ignore[arg-type]
    table = pa.table(
        {
            "index_symbol": pa.array([symbol] * n, pa.string()),
            "observed_date": pa.array(rows["observed_date"], pa.date32()),
            "open": pa.array(rows["open"], pa.float64()),
            "high": pa.array(rows["high"], pa.float64()),
            "low": pa.array(rows["low"], pa.float64()),
            "close": pa.array(rows["close"], pa.float64()),
            "available_at": pa.array(available, pa.timestamp("us", tz="UTC")),
            "available_at_derived": pa.array([False] * n, pa.bool_()),
        }
    )
    assert table.column_names == parsed_columns(INDEX_CLOSES)
    return ParseResult(table=table, rejections=rejections)
