"""Publisher spreadsheets (.xls, .xlsx) read as the CSV text of one sheet, so they go through the text parsers.

Why: CFTC's historical compressed Excel files, EIA's .xls downloads and Cboe's vixarchive.xls carry the same
columns as the publishers' text files. Rather than a second parser per source, a sheet is written out as CSV,
line n being sheet row n (so a bad cell is named by its sheet row), and the source's text parser reads it. Date
cells are written in the form their column's header names (`...YYYY-MM-DD` -> `2024-01-02`), else `MM/DD/YYYY`,
the publishers' own text convention (`Report_Date_as_MM_DD_YYYY`, `Date`); whole numbers without `.0`; other numbers
as the shortest text that reads back to the same double; error cells (`#N/A`) as their text, which the row
parser then refuses like any bad value. Bronze keeps the workbook bytes; only the parser sees the CSV.

.xls (BIFF, an OLE2 compound file) is read with xlrd, .xlsx with openpyxl (read-only, cached values).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time
from typing import Literal

from resources.errors import NotTabularError, SchemaMismatchError
from resources.lake.bronze import RawPayload

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORKBOOK_SUFFIXES = (".xls", ".xlsx")
Kind = Literal["xls", "xlsx"]
_ISO_FORMS = ("YYYY-MM-DD", "YYYY_MM_DD")
Cell = str | float | int | bool | date | datetime | time | None


def workbook_kind(data: bytes) -> Kind | None:
    """'xls' or 'xlsx' from the bytes (never the file name); None for anything else."""
    if data.startswith(OLE2_SIGNATURE):
        return "xls"
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "xlsx" if "xl/workbook.xml" in archive.namelist() else None
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            return None
    return None


def sheet_as_payload(payload: RawPayload, *, sheet: str | None = None) -> RawPayload:
    """`payload` itself when it is not a workbook; else its sheet (`sheet`, or the first) as CSV text.

    The returned payload's location names the sheet (`<file>:<sheet>`), so whole-file errors name it too.
    """
    kind = workbook_kind(payload.data)
    if kind is None:
        return payload
    name, text = sheet_csv(payload.data, kind, sheet=sheet, where=_where(payload))
    return replace(payload, data=text.encode("utf-8"), location=f"{payload.location}:{name}")


def sheet_csv(data: bytes, kind: Kind, *, sheet: str | None, where: dict[str, object]) -> tuple[str, str]:
    """(sheet name, CSV text) of one sheet of a workbook; a workbook that cannot be read is `NotTabularError`."""
    rows = _xls_rows if kind == "xls" else _xlsx_rows
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        name, cells = rows(data, sheet, where)
        iso: dict[int, bool] = {}  # column -> its latest text cell names an ISO date (the header, for data rows)
        for row in cells:
            for i, cell in enumerate(row):
                if isinstance(cell, str) and cell.strip():
                    iso[i] = any(form in cell.upper() for form in _ISO_FORMS)
            writer.writerow([_text(cell, iso.get(i, False)) for i, cell in enumerate(_trimmed(row))])
    except (SchemaMismatchError, NotTabularError):
        raise
    except Exception as exc:
        raise NotTabularError(f"{kind} workbook cannot be read ({type(exc).__name__}: {exc})", **where) from None
    return name, out.getvalue()


def _where(payload: RawPayload) -> dict[str, object]:
    return {"source": payload.source, "dataset": payload.dataset, "location": payload.location}


def _pick(names: list[str], sheet: str | None, where: dict[str, object]) -> str:
    if not names:
        raise NotTabularError("workbook has no sheets", **where)
    if sheet is None:
        return names[0]
    if sheet not in names:
        raise SchemaMismatchError(f"workbook has no sheet {sheet!r} (sheets: {', '.join(names)})", **where)
    return sheet


def _xls_rows(data: bytes, sheet: str | None, where: dict[str, object]) -> tuple[str, Iterator[list[Cell]]]:
    import xlrd

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    name = _pick(book.sheet_names(), sheet, where)
    page = book.sheet_by_name(name)

    def cell(kind: int, value: object) -> Cell:
        if kind == xlrd.XL_CELL_DATE:
            return xlrd.xldate.xldate_as_datetime(value, book.datemode)
        if kind == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#ERROR")  # type: ignore[arg-type]
        if kind == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        return value  # type: ignore[return-value]

    def rows() -> Iterator[list[Cell]]:
        for r in range(page.nrows):
            yield [cell(k, v) for k, v in zip(page.row_types(r), page.row_values(r), strict=True)]

    return name, rows()


def _xlsx_rows(data: bytes, sheet: str | None, where: dict[str, object]) -> tuple[str, Iterator[list[Cell]]]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    name = _pick(book.sheetnames, sheet, where)
    page = book[name]

    def rows() -> Iterator[list[Cell]]:
        last = 0
        for row in page.iter_rows():  # read-only sheets skip empty rows: keep line n = sheet row n
            cells = [c for c in row if getattr(c, "row", None) is not None]
            number = cells[0].row if cells else last + 1
            for _ in range(number - last - 1):
                yield []
            last = number
            yield [c.value for c in row]
        book.close()

    return name, rows()


def _trimmed(row: list[Cell]) -> list[Cell]:
    """Rows keep the sheet's width, as Excel's own "Save as CSV" does, except an empty row is an empty line."""
    return row if any(c is not None and c != "" for c in row) else []


def _text(cell: Cell, iso: bool) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, datetime | date):
        return cell.strftime("%Y-%m-%d") if iso else f"{cell.month:02d}/{cell.day:02d}/{cell.year:04d}"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)
