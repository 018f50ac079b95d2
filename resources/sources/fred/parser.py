"""Parse FRED's CSV downloads (fred.stlouisfed.org "Download CSV") and its text downloads.

Three layouts exist and all are read:
- old: `DATE,<SERIES_ID>` with `.` for a missing value;
- current: `observation_date,<SERIES_ID>` with an empty cell for a missing value (some files are CRLF and end
  without a final newline, T10Y2Y.csv for one);
- a graph of several series (`fredgraph.csv`, dataset FREDGRAPH): `observation_date,<ID1>,<ID2>,...`, one value
  column each (the header names the series); a file named after one series must hold exactly that one;
- text (`fred.stlouisfed.org/data/<SERIES_ID>.txt`): `Title:`, `Series ID:`, ... `Notes:` lines, then a
  `DATE  VALUE` header and space-aligned columns with `.` for a missing value. It is read as the old layout, with
  line numbers of the file as published.
Other missing markers (`NA`, `N/A`, `#N/A`, `NaN`) are read as null too. A download has no vintage: each row's
realtime_start is assumed to be the observation's first release by FRED's calendar (`calendar.first_release`)
and flagged `vintage_inferred`; the values are those current when the file was downloaded, so a value revised
since its first release is attributed to the first release date (documented; prefer the API for vintages).
"""

from __future__ import annotations

import csv
import itertools
import re
from datetime import date

import pyarrow as pa

from resources.errors import EmptyPayloadError, NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.bronze import RawPayload
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.sources.base import CutCandidate, ParseResult, parsed_columns
from resources.sources.fred.calendar import first_release, vintage_available_at
from resources.sources.fred.spec import OBSERVATIONS, SOURCE
from resources.sources.text_lines import iter_lines, line_count
from resources.sources.truncation import FRED, check_tail

DATE_HEADERS = ("DATE", "OBSERVATION_DATE")
GRAPH_DATASET = "FREDGRAPH"  # FRED names a graph's download `fredgraph.csv`, a single series' `<ID>.csv`
_MAX_TEXT_PREAMBLE = 200  # `Notes:` can run to many lines
MISSING_MARKERS = frozenset({"", ".", "NA", "N/A", "#N/A", "NAN"})
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SERIES_ID = re.compile(r"^[A-Z0-9][A-Z0-9_]*$")


def series_from_name(name: str) -> str:
    """`DCOILWTICO_old_layout.csv` -> `DCOILWTICO`, `DGS10.csv` -> `DGS10` (FRED names downloads by series)."""
    stem = name.rsplit("/", 1)[-1].split("?")[0].split(".", 1)[0]
    return stem.split("_", 1)[0].upper()


def _decode(payload: RawPayload) -> str:
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    try:
        text = payload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotTabularError(f"not UTF-8 text (byte {exc.start})", **where) from None
    if not text or text.isspace():  # isspace, not strip: no copy of a huge payload
        raise NotTabularError("empty payload", **where)
    if "\x00" in text:
        raise NotTabularError("binary data arrived instead of CSV", **where)
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise NotTabularError("an HTML (or XML) page arrived instead of CSV", **where)
    if head.startswith(("{", "[")):
        raise NotTabularError("JSON arrived instead of CSV", **where)
    return text


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def text_download_as_csv(text: str, where: dict[str, str]) -> tuple[str, int]:
    """A `.txt` download as the old CSV layout, and how many lines stood above its header; other text unchanged.

    Why convert rather than parse twice: one row path (bad rows, duplicates, truncation, cut values) for every
    layout. Line endings are kept, so a file without a final newline stays one.
    """
    if not text.lstrip().startswith("Title:"):
        return text, 0
    head = list(itertools.islice(iter_lines(text), _MAX_TEXT_PREAMBLE))
    header_at = next((i for i, line in enumerate(head) if line.upper().split() == ["DATE", "VALUE"]), None)
    if header_at is None:
        raise SchemaMismatchError("a FRED text download without its `DATE  VALUE` header line", row=1, **where)
    ids = [line.split(":", 1)[1].strip() for line in head[:header_at] if line.lower().startswith("series id:")]
    if not ids or not _SERIES_ID.match(ids[0].upper()):
        raise SchemaMismatchError("a FRED text download without a `Series ID:` line", row=1, **where)
    body = itertools.islice(iter_lines(text, keepends=True), header_at + 1, None)
    rows = (",".join(line.split()) + line[len(line.rstrip("\r\n")) :] for line in body)
    return f"DATE,{ids[0]}\n" + "".join(rows), header_at


def parse_value_cell(text: str) -> float | None:
    """A CSV value cell: a missing marker is null; anything else must be a finite number (ValueError if not)."""
    text = text.strip()
    if text.upper() in MISSING_MARKERS:
        return None
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def parse_fred_csv(payload: RawPayload) -> ParseResult:
    """Rows of one FRED CSV download of series `payload.dataset` in the silver shape."""
    where = {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}
    text = _decode(payload)
    text, offset = text_download_as_csv(text, where)  # offset: lines above the header in the file as published
    try:
        tail = check_tail(text, FRED, where)
    except TruncatedPayloadError as exc:
        raise TruncatedPayloadError(exc.reason, row=(exc.row or 1) + offset, **where) from None
    series_id = payload.dataset.upper()
    reader = csv.reader(iter_lines(text, keepends=True))  # lazily: no copy of a huge bad file
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise NotTabularError("no CSV header", row=1 + offset, **where) from None
    if not header or header[0].upper() not in DATE_HEADERS:
        raise SchemaMismatchError(
            f"first column is {header[0] if header else ''!r}, expected DATE or observation_date",
            row=1 + offset,
            **where,
        )
    columns = [h.upper() for h in header[1:]]
    if len(columns) != 1 and (series_id != GRAPH_DATASET or not columns):  # one series: exactly its column
        raise SchemaMismatchError(
            f"expected 2 columns (date, {series_id}), found {len(header)}", row=1 + offset, **where
        )
    if len(columns) == 1 and (columns[0] != series_id or not _SERIES_ID.match(columns[0])):
        raise SchemaMismatchError(f"value column is {header[1]!r}, expected {series_id!r}", row=1 + offset, **where)
    if bad := next((h for h in header[1:] if not _SERIES_ID.match(h.upper())), None):
        raise SchemaMismatchError(f"value column {bad!r} is not a FRED series id", row=1 + offset, **where)
    if len(set(columns)) != len(columns):
        raise SchemaMismatchError(f"a series appears twice in the header {','.join(header)}", row=1 + offset, **where)
    width = len(header)  # a graph of several series (`fredgraph.csv`) has one value column per series

    ends_cleanly = text.endswith(("\n", "\r"))
    last_line = line_count(text)
    row_series: list[str] = []
    dates: list[date] = []
    values: list[float | None] = []
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[date, int] = {}
    cut: CutCandidate | None = None
    try:
        for fields in reader:
            line_no = reader.line_num
            shown = line_no + offset  # the line in the file as published
            if not fields or all(not f.strip() for f in fields):
                continue
            raw = ",".join(fields)
            problem: tuple[str, str] | None = None
            day = _parse_date(fields[0])
            cells: list[float | None] = []
            if len(fields) != width:
                kind = "ShortRow" if len(fields) < width else "LongRow"
                problem = (f"expected {width} fields, found {len(fields)}", kind)
            elif day is None:
                problem = (f"bad date {fields[0]!r} (want YYYY-MM-DD)", "BadDate")
            elif day in seen:
                problem = (f"duplicate date {day.isoformat()} (first on line {seen[day]})", "Duplicate")
            else:
                for column, cell in zip(columns, fields[1:], strict=True):
                    try:
                        cells.append(parse_value_cell(cell))
                    except ValueError:
                        problem = (f"non-numeric value {cell!r}" + (f" of {column}" if width > 2 else ""), "BadValue")
                        break
            if problem is not None:
                if line_no >= last_line and not ends_cleanly and problem[1] != "Duplicate":
                    raise TruncatedPayloadError(
                        f"the file stops part-way: last line {raw!r} is cut ({problem[0]})", row=shown, **where
                    )
                rejections.append(Rejection(shown, problem[0], raw, problem[1]))
                continue
            assert day is not None
            seen[day] = shown
            row_series += columns
            dates += [day] * len(columns)
            values += cells
            if tail is not None and line_no >= last_line:  # the cut could only be in the last column's value
                last = columns[-1]
                key = {"series_id": last, "observation_date": day, "realtime_start": first_release(last, day)}
                cut = CutCandidate(key, "value", tail.value_text, shown)
    except csv.Error as exc:
        raise NotTabularError(f"malformed CSV: {exc}", row=reader.line_num + offset, **where) from None

    if not dates and not rejections:
        raise EmptyPayloadError("header but no data rows", row=1, **where)
    n = len(dates)
    starts = [first_release(s, d) for s, d in zip(row_series, dates, strict=True)]
    table = pa.table(
        {
            "series_id": pa.array(row_series, pa.string()),
            "observation_date": pa.array(dates, pa.date32()),
            "realtime_start": pa.array(starts, pa.date32()),
            "value": pa.array(values, pa.float64()),
            "vintage_inferred": pa.array([True] * n, pa.bool_()),
            "available_at": pa.array([vintage_available_at(s) for s in starts], pa.timestamp("us", tz="UTC")),
            "available_at_derived": pa.array([True] * n, pa.bool_()),
        }
    )
    assert table.column_names == parsed_columns(OBSERVATIONS)
    return ParseResult(table=table, rejections=rejections, cut_candidate=cut)
