"""Parse any COT payload: a Socrata JSON page, an annual text file or workbook, or the zip archive CFTC ships it in.

Bronze keeps each payload exactly as received (zip bytes included); the parser opens the archive itself. A
workbook (CFTC's `*_xls_<year>.zip` hold one .xls with the text file's columns) is read as the CSV text of its
first sheet (`resources.sources.workbooks`). What
the payload is comes from its bytes: a zip signature, a JSON array (or Socrata's error object), an HTML error page,
or CSV text whose header says which report it is. Whole-payload problems raise a typed `SourceDataError` naming
source, dataset, file or URL and row; bad rows come back as rejections (see `rows.build_result`).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Literal

from resources.errors import NotTabularError, SchemaMismatchError, SourceDataError, TruncatedPayloadError
from resources.lake.bronze import RawPayload
from resources.sources.base import ParseResult
from resources.sources.cot.layouts import (
    FUTURES_FLAG,
    FUTURES_ONLY_VALUES,
    LAYOUTS,
    ReportKind,
    ReportLayout,
    futures_only_of_dataset,
    layout_for_dataset,
)
from resources.sources.cot.rows import build_result
from resources.sources.cot.socrata import read_json_rows
from resources.sources.cot.spec import SOURCE
from resources.sources.cot.textfile import (
    detect_layout,
    legacy_is_combined,
    read_header,
    read_text_rows,
    split_csv_line,
)
from resources.sources.truncation import COT, check_tail
from resources.sources.workbooks import WORKBOOK_SUFFIXES, sheet_csv, workbook_kind

_TEXT_MEMBERS = (".txt", ".csv", *WORKBOOK_SUFFIXES)
_SHEET_MARK = "\x1f"  # between a workbook's name and its sheet's in `unpack`'s name, until the parser names it


def where_of(payload: RawPayload) -> dict[str, object]:
    return {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}


def unpack(payload: RawPayload) -> tuple[bytes, str]:
    """The report bytes and the name they go by (the archive member for a zip, else the payload's location); a
    workbook's first sheet as CSV text, named `<file>[:<member>]:<sheet>`."""
    data = payload.data
    where = where_of(payload)
    if workbook_kind(data) is not None:
        return _sheet_text(data, payload.location, where)
    if not data.startswith(b"PK"):
        return data, payload.location
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(_TEXT_MEMBERS)]
            if len(members) != 1:
                found = ", ".join(i.filename for i in archive.infolist()) or "nothing"
                raise NotTabularError(
                    f"expected one .txt report (or .xls workbook) in the zip archive, found {found}", **where
                )
            member, name = archive.read(members[0]), f"{payload.location}:{members[0].filename}"
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise TruncatedPayloadError(f"zip archive is incomplete or corrupt ({exc})", **where) from None
    except (NotImplementedError, RuntimeError, ValueError, OSError) as exc:  # unsupported compression, encryption
        raise NotTabularError(f"zip archive cannot be read ({exc})", **where) from None
    if workbook_kind(member) is not None:
        return _sheet_text(member, name, {**where, "location": name})
    return member, name


def _sheet_text(data: bytes, name: str, where: dict[str, object]) -> tuple[bytes, str]:
    kind = workbook_kind(data)
    assert kind is not None
    sheet, text = sheet_csv(data, kind, sheet=None, where=where)
    return text.encode("utf-8"), f"{name}{_SHEET_MARK}{sheet}"


def kind_of(data: bytes, where: dict[str, object]) -> Literal["json", "text"]:
    """JSON or CSV text; refuses empty bodies, HTML pages and binary data."""
    head = data[:1024].lstrip(b" \t\r\n\xef\xbb\xbf")
    if not head:
        raise NotTabularError("empty payload", **where)
    lower = head.lower()
    if lower.startswith(b"<") or b"<html" in lower or b"<!doctype" in lower:
        raise NotTabularError("an HTML page arrived instead of a COT report", **where)
    if head[:1] in (b"[", b"{"):
        return "json"
    if b"\x00" in data[:4096]:
        raise NotTabularError("binary data arrived instead of a COT report", **where)
    return "text"


def parse_cot_payload(payload: RawPayload, expect: ReportKind | None = None) -> ParseResult:
    """Rows of one payload in its report's silver shape. `expect` refuses a payload of another report."""
    where = where_of(payload)
    data, name = unpack(payload)
    if _SHEET_MARK in name:  # a workbook's sheet: errors name it (`<file>[:<member>]:<sheet>`)
        where = {**where, "location": name.replace(_SHEET_MARK, ":")}
        name = where["location"]  # type: ignore[assignment]
    if kind_of(data, where) == "json":
        layout = LAYOUTS[expect] if expect else layout_for_dataset(payload.dataset)
        if layout is None:
            raise NotTabularError("JSON records of an unknown COT dataset", **where)
        rows = read_json_rows(data, layout, futures_only_of_dataset(payload.dataset), where)
    else:
        check_tail(data, COT, where)  # on the bytes: no decoded copy of the whole file
        layout, rows = read_text_rows(data, name, where)
    if expect is not None and layout.report != expect:
        raise SchemaMismatchError(
            f"a {layout.title} report where a {LAYOUTS[expect].title} report was expected", row=1, **where
        )
    return build_result(layout, rows)


def _first_row(data: bytes, header_offset: int) -> list[bytes]:
    """The line after the header (none when there is none), without copying the rest of the file."""
    end = data.find(b"\n", header_offset)
    if end < 0:
        return []
    stop = data.find(b"\n", end + 1)
    return [data[end + 1 : len(data) if stop < 0 else stop]]


def identify(payload: RawPayload) -> tuple[ReportLayout, bool] | None:
    """(report layout, futures_only) of a report file, read from its header; None when it is not one."""
    where = where_of(payload)
    try:
        data, name = unpack(payload)
        if kind_of(data, where) != "text":
            return None
        header = read_header(data, where)
        layout = detect_layout(header, where)
    except SourceDataError:
        return None
    flag = header.find(FUTURES_FLAG.text)
    if layout.report == "legacy" and flag is None:  # Legacy text files have no flag: their names tell
        return layout, not legacy_is_combined(name)
    first_row = _first_row(data, header.offset)
    if flag is None or not first_row:
        return layout, True
    try:
        cells = split_csv_line(first_row[0].decode("utf-8", errors="replace").rstrip("\r"), 2, where)
    except SourceDataError:
        return layout, True
    value = cells[flag].strip().lower() if flag < len(cells) else ""
    return layout, FUTURES_ONLY_VALUES.get(value, True)
