"""Workbooks of the simulated publisher: the spreadsheet downloads real publishers ship, written as .xlsx.

Why .xlsx: CFTC, EIA and Cboe ship .xls (BIFF), but no maintained Python library writes BIFF (xlwt is
unmaintained), so the simulator writes the same sheets, cells and types with openpyxl. The reader's shared path
(sheet -> CSV text -> the source's text parser) is the same for both; only the .xls cell reading (xlrd) differs.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime

Cell = str | float | int | date | datetime | None

_INTEGER = re.compile(r"^-?[1-9]\d*$|^0$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*<")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def xlsx(sheets: dict[str, Iterable[Iterable[Cell]]]) -> bytes:
    """A workbook of the given sheets (rows of cells, dates as date cells), with fixed properties: same input,
    same bytes."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    book.properties.created = book.properties.modified = datetime(2000, 1, 1)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([_dated(c) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_times(buffer.getvalue())


def _fixed_times(data: bytes) -> bytes:
    """The same archive with every member, and the workbook's modified time, at 2000-01-01 (openpyxl stamps both
    with the clock on save)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z<", content)
            target.writestr(fixed, content)
    return out.getvalue()


def typed(text: str) -> Cell:
    """A text file's cell as a spreadsheet holds it: numbers as numbers (codes with leading zeros stay text), dates
    as dates, the rest as trimmed text, empty as an empty cell."""
    text = text.strip()
    if not text:
        return None
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    if match := _ISO.match(text):
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _US.match(text):
        return date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    return text


def _dated(cell: Cell) -> Cell:
    if isinstance(cell, date) and not isinstance(cell, datetime):
        return datetime(cell.year, cell.month, cell.day)  # openpyxl formats datetimes as date cells
    return cell
