"""Rows of an EIA "Download Data (CSV File)": preamble, `Week of,...`/`Day,...` header, newest row first.

Also the xls download's "Data 1" sheet saved as CSV: `Back to Contents,...`, a `Sourcekey,<ID>` row, then
`Date,<name> (<units>)` with `Mon DD, YYYY` or ISO dates, oldest first; its cadence is the known series' own.
The series is read from the `Series Key` (or `Sourcekey`) line, else the page URL (`s=WCESTUS1`, or
`hist/rngwhhdd.htm` -> RNGWHHD, the page name ending with its frequency letter); the units from the end of the
header (`... Thousand Barrels` -> MBBL). A last line that stops inside `MM/D/YYYY,value` is a cut-off download,
not a bad row.
"""

from __future__ import annotations

import calendar
import csv
import itertools
import re
from datetime import date
from typing import Any

from resources.errors import EmptyPayloadError, NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.quarantine import BoundedRejections, Rejection
from resources.sources.eia.rows import BadRow, Row, check_period, parse_value, safe_date
from resources.sources.eia.spec import FILE_UNITS, SERIES, Cadence, Schedule
from resources.sources.text_lines import iter_lines, last_nonblank_line
from resources.sources.truncation import EIA, check_tail

_FILE_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_WORD_DATE = re.compile(r"^\s*([A-Za-z]{3})\s+(\d{1,2}),\s*(\d{4})\s*$")  # `Aug 20, 1982` (the xls sheets)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}  # English abbreviations (C locale)
_SERIES_ID = re.compile(r"^[A-Z0-9][A-Z0-9_]{1,59}$")
_SERIES_KEY_SUFFIX = re.compile(r"\.[DWMAQ]$")
_URL_SERIES = re.compile(r"[?&]s=([A-Za-z0-9_]+)")
_HIST_PAGE = re.compile(r"/hist/([A-Za-z0-9_]+)\.htm", re.IGNORECASE)
HEADER_FIRST: dict[str, Cadence] = {"week of": "weekly", "day": "daily"}
SERIES_DATE_HEADER = "date"  # the xls "Data 1" sheet saved as CSV: the cadence is the series' own
_MAX_PREAMBLE = 12


def series_from_preamble(lines: list[str]) -> str | None:
    """The EIA series id a download CSV holds, from its `Series Key` line or its page URL; None if unknown."""
    for line in lines:
        label, _, value = line.partition(",")
        if label.strip().lower() in ("series key", "sourcekey") and value.strip():
            value = value.split(",", 1)[0]  # a Sourcekey row names one series per column
            candidate = _SERIES_KEY_SUFFIX.sub("", value.strip().upper())
            return candidate if _SERIES_ID.match(candidate) else None
    for line in lines:
        match = _URL_SERIES.search(line)
        if match and _SERIES_ID.match(match.group(1).upper()):
            return match.group(1).upper()
    for line in lines:
        match = _HIST_PAGE.search(line)
        if match:
            stem = match.group(1).upper()
            candidate = stem[:-1] if stem[-1] in "DWMAQ" else stem  # the page name ends with its frequency
            if _SERIES_ID.match(candidate):
                return candidate
    return None


def _split(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _file_date(text: str) -> date | None:
    """`MM/D/YYYY` (download CSV); `YYYY-MM-DD` or `Mon DD, YYYY` (xls sheets saved as CSV)."""
    if match := _FILE_DATE.match(text):
        return safe_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    if match := _ISO_DATE.match(text):
        return safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if (match := _WORD_DATE.match(text)) and match.group(1).lower() in _MONTHS:
        return safe_date(int(match.group(3)), _MONTHS[match.group(1).lower()], int(match.group(2)))
    return None


def _header_at(lines: list[str]) -> int | None:
    """Index of the column header: the line naming `Week of`/`Day`, or the line above the first dated row."""
    for i, line in enumerate(lines[: _MAX_PREAMBLE + 1]):
        fields = _split(line)
        if fields and fields[0].strip().lower() in (*HEADER_FIRST, SERIES_DATE_HEADER):
            return i
    for i, line in enumerate(lines[: _MAX_PREAMBLE + 2]):
        fields = _split(line)
        if i > 0 and fields and _file_date(fields[0]) is not None:
            return i - 1
    return None


def _units_from_header(description: str) -> str | None:
    """Units at the end of the series header, in words (`... Number of Days`) or in parentheses (`... (Days)`)."""
    lowered = description.strip().lower()
    if lowered.endswith(")") and "(" in lowered:
        inner = lowered[lowered.rindex("(") + 1 : -1].strip()
        for text, code in FILE_UNITS:
            if inner in (text.lower(), code.lower()):
                return code
        lowered = lowered[: lowered.rindex("(")].strip()
    for text, code in sorted(FILE_UNITS, key=lambda unit: -len(unit[0])):  # longest first: "... per Day"
        if lowered.endswith(text.lower()):
            return code
    return None


def csv_rows(
    text: str, cadence: Cadence, where: dict[str, Any]
) -> tuple[list[Row], list[Rejection], Schedule, tuple[Row, int, str] | None]:
    """Rows, rejections, the release schedule hint, and (row, line, text) of an unterminated last line."""
    try:
        return _csv_rows_unchecked(text, cadence, where)
    except csv.Error as exc:
        raise NotTabularError(f"not a CSV file ({exc})", **where) from None


def _csv_rows_unchecked(
    text: str, cadence: Cadence, where: dict[str, Any]
) -> tuple[list[Row], list[Rejection], Schedule, tuple[Row, int, str] | None]:
    lines = list(itertools.islice(iter_lines(text), _MAX_PREAMBLE + 2))  # the head only: no list of every line
    header_at = _header_at(lines)
    if header_at is None:
        raise SchemaMismatchError(
            "no column header (`Week of,...`, `Day,...` or `Date,...`) in the first lines", row=1, **where
        )
    header = _split(lines[header_at])
    first = header[0].strip() if header else ""
    if first.lower() not in (*HEADER_FIRST, SERIES_DATE_HEADER):
        raise SchemaMismatchError(
            f"first column is {first!r}, expected 'Week of', 'Day' or 'Date'", row=header_at + 1, **where
        )
    description = ",".join(header[1:]).strip()
    if not description:
        raise SchemaMismatchError("the value column is missing from the header", row=header_at + 1, **where)
    preamble = lines[:header_at]
    series_id = series_from_preamble(preamble)
    if series_id is None:
        raise SchemaMismatchError(
            "cannot tell which EIA series this file holds (no Series Key line, no series in the page URL)",
            row=min(2, header_at) or 1,
            **where,
        )
    units = _units_from_header(description)
    known = SERIES.get(series_id)
    file_cadence = HEADER_FIRST.get(first.lower()) or (known.cadence if known is not None else None)
    if file_cadence is None:
        raise SchemaMismatchError(
            f"a 'Date' column does not say the cadence, and {series_id} is not a series Nexus knows",
            row=header_at + 1,
            **where,
        )
    if file_cadence != cadence:
        raise SchemaMismatchError(f"a {file_cadence} file offered to the {cadence} table", row=header_at + 1, **where)
    if units is None:
        raise SchemaMismatchError(f"no units at the end of the header {description!r}", row=header_at + 1, **where)
    if known is not None and units != known.units:
        raise SchemaMismatchError(
            f"{series_id} in {units!r}, expected {known.units!r} (header {description!r})", row=header_at + 1, **where
        )
    hint: Schedule = "gas_storage" if any("/ng/" in line for line in preamble) else "petroleum"

    last_line = last_nonblank_line(text)
    if last_line <= header_at + 1:
        raise EmptyPayloadError("header but no data rows", row=header_at + 1, **where)
    tail = check_tail(text, EIA, where, width=2)  # data lines are `date,value`
    rows: list[Row] = []
    rejections: list[Rejection] = BoundedRejections()
    seen: dict[date, int] = {}
    cut: tuple[Row, int, str] | None = None
    body = ((n, line) for n, line in enumerate(iter_lines(text), start=1) if n > header_at + 1 and line.strip())
    for line_no, line in body:
        fields = _split(line)
        try:
            row = _csv_row(fields, series_id, units, cadence)
            if row.period in seen:
                first_line = seen[row.period]
                raise BadRow(f"duplicate date {row.period.isoformat()} (first on line {first_line})", "Duplicate")
        except BadRow as bad:
            if line_no == last_line and bad.kind in ("ShortRow", "BadDate") and _looks_cut(fields):
                raise TruncatedPayloadError(f"last line {line!r} is cut off", row=line_no, **where) from None
            rejections.append(Rejection(line_no, str(bad), line, bad.kind))
            continue
        seen[row.period] = line_no
        rows.append(row)
        if tail is not None and line_no == last_line:
            cut = (row, line_no, tail.value_text)
    return rows, rejections, hint, cut


def _looks_cut(fields: list[str]) -> bool:
    """A last line that is a prefix of `MM/D/YYYY,value`: the download stopped part-way."""
    return len(fields) < 2 or _FILE_DATE.match(fields[0]) is None


def _csv_row(fields: list[str], series_id: str, units: str, cadence: Cadence) -> Row:
    if len(fields) < 2:
        raise BadRow(f"expected 2 fields, found {len(fields)}", "ShortRow")
    if any(f.strip() for f in fields[2:]):
        raise BadRow(f"expected 2 fields, found {len(fields)}", "LongRow")
    day = _file_date(fields[0])
    if day is None:
        raise BadRow(f"bad date {fields[0]!r} (want MM/DD/YYYY)", "BadDate")
    check_period(day, cadence)
    return Row(series_id, day, parse_value(fields[1]), units)
