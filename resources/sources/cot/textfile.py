"""CFTC's annual COT text files (`annual.txt`, `FinFutYY.txt`, `f_year.txt` and their zip archives).

Comma-separated with a header row, quoted names, space-padded numbers (the 2004 Legacy file also pads the quoted
fields: `"WHEAT - CHICAGO BOARD OF TRADE" ,041228 ,`), CRLF or LF, `.` for suppressed values. The report type is
read from the header, never from the file name; only Legacy files, which carry no FutOnly_or_Combined column, are
told futures-only or combined by their name (`annualof.txt`, `deahistfo*.zip` are combined).

Parsing is pyarrow's CSV reader over just the needed columns (a year of TFF in a few tens of milliseconds);
line numbers are rebuilt only when a row has to be refused.
"""

from __future__ import annotations

import bisect
import csv
import re
from array import array
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
import pyarrow.csv as pacsv

from resources.errors import EmptyPayloadError, NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.quarantine import Rejection, TooManyBadRows
from resources.quality.row_policy import MAX_KEPT_BAD_ROWS
from resources.sources.cot.layouts import (
    FUTURES_FLAG,
    LAYOUTS,
    LEGACY_COMBINED_NAME_HINTS,
    MARKET_CODE,
    MARKET_NAME,
    REPORT_DATE_HEADERS,
    ReportLayout,
    normalize_header,
)
from resources.sources.cot.rows import RawRows

# A header names a layout when at least this share of the layout's position headers is present.
_DETECT_SHARE = 0.5


@dataclass(frozen=True)
class Header:
    names: list[str]  # as written (pyarrow sees the same)
    line: int  # 1-based physical line of the header
    offset: int  # byte offset of the header line

    @cached_property
    def index(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i, name in enumerate(self.names):
            out.setdefault(normalize_header(name), i)
        return out

    def find(self, spellings: tuple[str, ...]) -> int | None:
        for spelling in spellings:
            position = self.index.get(normalize_header(spelling))
            if position is not None:
                return position
        return None


def read_header(data: bytes, where: dict[str, object]) -> Header:
    """The first non-empty line, split as CSV."""
    start, line = 0, 1
    while True:
        end = data.find(b"\n", start)
        stop = len(data) if end < 0 else end
        if data[start:stop].strip(b"\r\t \xef\xbb\xbf"):
            break
        if end < 0:
            raise NotTabularError("empty payload", **where)
        start, line = end + 1, line + 1
    text = data[start:stop].decode("utf-8-sig", errors="replace").rstrip("\r")
    return Header(names=split_csv_line(text, line, where), line=line, offset=start)


def split_csv_line(text: str, line: int, where: dict[str, object]) -> list[str]:
    try:
        return next(csv.reader([text]), [])
    except csv.Error as exc:
        raise NotTabularError(f"unreadable CSV line ({exc})", row=line, **where) from None


def detect_layout(header: Header, where: dict[str, object]) -> ReportLayout:
    """The report whose position headers the file carries; missing or renamed columns are named."""
    scores = {
        report: sum(header.find(f.text) is not None for f in layout.positions) for report, layout in LAYOUTS.items()
    }
    report = max(scores, key=lambda r: scores[r])
    layout = LAYOUTS[report]
    if scores[report] < _DETECT_SHARE * len(layout.positions):
        looks_cot = header.find(MARKET_CODE.text) is not None or header.find(MARKET_NAME.text) is not None
        what = "a COT header naming no known report" if looks_cot else "not a COT report header"
        raise SchemaMismatchError(
            f"{what} (Legacy, TFF or Disaggregated position columns not found; first columns: "
            f"{', '.join(header.names[:4])})",
            row=header.line,
            **where,
        )
    missing = [f.header for f in (MARKET_NAME, MARKET_CODE, *layout.positions) if header.find(f.text) is None]
    if date_column(header) is None:
        missing.append(REPORT_DATE_HEADERS[0][0])
    if missing:
        raise SchemaMismatchError(
            f"{layout.title} file is missing columns: {', '.join(missing)}", row=header.line, **where
        )
    return layout


def date_column(header: Header) -> tuple[int, str, str] | None:
    """(index, header, strptime format) of the report date column the file carries."""
    for name, fmt in REPORT_DATE_HEADERS:
        position = header.find((name,))
        if position is not None:
            return position, name, fmt
    return None


def legacy_is_combined(location: str) -> bool:
    name = location.replace("\\", "/").lower()
    return any(hint in name for hint in LEGACY_COMBINED_NAME_HINTS)


class _Lines:
    """Physical line numbers and text of pyarrow's rows (its numbering skips empty lines; header = row 1).

    Indexed lazily, only up to the highest row asked for, as three offsets a line: never a list of the file's
    lines (a file of 5 M short garbage lines cost ~700 MB that way).
    """

    def __init__(self, data: bytes, offset: int, first_line: int) -> None:
        self.data = data
        self.first_line = first_line
        self._next = offset  # start of the next line to index
        self._physical = 0  # 0-based physical line (from the header) of the next line
        self._starts, self._ends, self._lines = array("q"), array("q"), array("q")  # per non-empty line

    def _index(self, rows: int | None) -> None:
        data, size = self.data, len(self.data)
        while (rows is None or len(self._starts) < rows) and self._next <= size:
            newline = data.find(b"\n", self._next)
            stop = size if newline < 0 else newline
            end = stop
            while end > self._next and data[end - 1] == 0x0D:
                end -= 1
            if end > self._next:
                self._starts.append(self._next)
                self._ends.append(end)
                self._lines.append(self._physical)
            self._physical += 1
            self._next = size + 1 if newline < 0 else newline + 1

    def count(self) -> int:
        """Non-empty lines, the header included (indexes the whole file)."""
        self._index(None)
        return len(self._starts)

    def physical(self, row_number: int) -> int:
        """1-based physical line of pyarrow's 1-based row number (header = 1)."""
        self._index(row_number)
        if 0 < row_number <= len(self._starts):
            return self.first_line + self._lines[row_number - 1]
        return self.first_line + row_number - 1

    def text(self, row_number: int) -> str | None:
        self._index(row_number)
        if 0 < row_number <= len(self._starts):
            return self.data[self._starts[row_number - 1] : self._ends[row_number - 1]].decode("utf-8", "replace")
        return None


_NOT_BLANK = re.compile(rb"\S")
_UTF8_CHUNK = 1 << 20


def _check_utf8(data: bytes, start: int, where: dict[str, object]) -> None:
    """Refuse a body that is not UTF-8, naming the first bad byte, decoding one line-aligned 1 MiB chunk at a time
    (a newline never sits inside a multi-byte character), so no text copy of the whole file is made."""
    while start < len(data):
        end = data.find(b"\n", min(start + _UTF8_CHUNK, len(data)))
        end = len(data) if end < 0 else end + 1
        try:
            data[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotTabularError(f"not UTF-8 text (byte {start + exc.start})", **where) from None
        start = end


def _ends_with_newline(data: bytes) -> bool:
    """Whether the last byte that is not a space or tab is a newline (without an `rstrip` copy)."""
    end = len(data)
    while end and data[end - 1] in b" \t":
        end -= 1
    return bool(end) and data[end - 1] == 0x0A


def read_text_rows(data: bytes, location: str, where: dict[str, object]) -> tuple[ReportLayout, RawRows]:
    """The needed columns of an annual text file as strings, with row positions for rejections."""
    header = read_header(data, where)
    layout = detect_layout(header, where)
    newline = data.find(b"\n", header.offset)
    if newline < 0 or not _NOT_BLANK.search(data, newline + 1):
        raise EmptyPayloadError("header but no data rows", row=header.line, **where)
    _check_utf8(data, header.offset, where)
    body = pa.py_buffer(data).slice(header.offset)  # a view: pyarrow reads the file's bytes in place

    width = len(header.names)
    date_index, date_header, date_format = date_column(header)  # type: ignore[misc]
    wanted: dict[str, int] = {
        MARKET_NAME.column: header.find(MARKET_NAME.text),  # type: ignore[dict-item]
        MARKET_CODE.column: header.find(MARKET_CODE.text),  # type: ignore[dict-item]
        **{f.column: header.find(f.text) for f in layout.positions},  # type: ignore[misc]
        "_date": date_index,
    }
    flag_index = header.find(FUTURES_FLAG.text)
    if flag_index is not None:
        wanted["_flag"] = flag_index
    names = [f"c{i}" for i in range(width)]
    invalid: list[tuple[int | None, int, str]] = []
    skipped_rows: set[int] = set()  # at most MAX_KEPT_BAD_ROWS + 1: reading stops past the bound

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is not None:
            skipped_rows.add(row.number)
        if len(invalid) < MAX_KEPT_BAD_ROWS:  # bounded: a file of garbage keeps only what quarantine will
            invalid.append((row.number, row.actual_columns, row.text[:2000]))
        return "error" if len(skipped_rows) > MAX_KEPT_BAD_ROWS else "skip"  # past the bound: stop reading

    lines = _Lines(data, header.offset, header.line)

    def rejected() -> list[Rejection]:
        return [
            Rejection(
                lines.physical(number) if number else 0,
                f"expected {width} fields, found {columns}",
                text[:2000],
                "ShortRow" if columns < width else "LongRow",
            )
            for number, columns, text in invalid
        ]

    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=[names[i] for i in sorted(set(wanted.values()))],
                column_types={names[i]: pa.string() for i in set(wanted.values())},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        if len(skipped_rows) > MAX_KEPT_BAD_ROWS:
            raise TooManyBadRows(rejected()) from None
        raise NotTabularError(f"unreadable as CSV: {str(exc)[:200]}", **where) from None

    if invalid and not _ends_with_newline(data):
        number, columns, _ = invalid[-1]
        last_row = lines.count()
        if number == last_row and columns < width:
            raise TruncatedPayloadError(
                f"file ends part-way through a row ({columns} of {width} fields)",
                row=lines.physical(last_row),
                **where,
            )
    skipped = sorted(skipped_rows)

    def row_number(i: int) -> int:
        """pyarrow's row number of table row `i`: the (i+1)-th data row (from row 2) not skipped as invalid."""
        low, high = i + 2, i + 2 + len(skipped)
        while low < high:  # smallest r with r - 1 - (skipped rows <= r) >= i + 1
            middle = (low + high) // 2
            if middle - 1 - bisect.bisect_right(skipped, middle) >= i + 1:
                high = middle
            else:
                low = middle + 1
        return low

    rows = RawRows(
        columns={column: table.column(names[index]) for column, index in wanted.items() if not column.startswith("_")},
        dates=table.column(names[date_index]),
        date_format=date_format,
        futures_flags=table.column(names[flag_index]) if flag_index is not None else None,
        futures_default=not (layout.report == "legacy" and legacy_is_combined(location)),
        line_of=lambda i: lines.physical(row_number(i)),
        raw_of=lambda i: lines.text(row_number(i)),
        headers={
            **{f.column: header.names[header.find(f.text)].strip() for f in layout.positions},  # type: ignore[index]
            "_date": date_header,
        },
        rejected=rejected(),
    )
    if len(skipped_rows) > MAX_KEPT_BAD_ROWS:
        raise TooManyBadRows(rows.rejected)
    return layout, rows
