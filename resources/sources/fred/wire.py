"""The FRED API's wire format: XML (FRED's default, what fredapi asks for) or JSON, read into one shape.

fred/series/observations and fred/series answer with an envelope (attributes of the root element, or the JSON
object's scalar fields) around a list of rows (child elements, or the objects of one JSON array). Errors are
`<error code=".." message=".."/>` or `{"error_code": .., "error_message": ".."}` with HTTP 400. This module turns
a payload into (envelope, rows) or raises the typed error that says what arrived instead.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from resources.errors import NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.bronze import RawPayload
from resources.sources.fred.spec import SOURCE

# expat codes meaning "the document stopped": no element found, unclosed token, partial character
_EXPAT_CUT_SHORT = {3, 5, 6}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
M = TypeVar("M", bound=BaseModel)


class ObservationPage(BaseModel):
    """The envelope of one fred/series/observations page (rows are checked one by one by the parser)."""

    model_config = ConfigDict(extra="ignore")

    realtime_start: date
    realtime_end: date
    observation_start: date | None = None
    observation_end: date | None = None
    units: str = "lin"
    output_type: int = 1
    order_by: str | None = None
    sort_order: str | None = None
    count: int
    offset: int = 0
    limit: int


class SeriesEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    realtime_start: date | None = None
    realtime_end: date | None = None


class WireSeries(BaseModel):
    """One `series` of fred/series, as FRED sends it (notes is optional; popularity is an integer)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    observation_start: date | None = None
    observation_end: date | None = None
    frequency: str | None = None
    frequency_short: str | None = None
    units: str | None = None
    units_short: str | None = None
    seasonal_adjustment: str | None = None
    seasonal_adjustment_short: str | None = None
    last_updated: str
    popularity: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Envelope:
    """A decoded FRED answer: the root's fields and its rows (each a flat mapping of strings or numbers)."""

    fields: dict[str, Any]
    rows: list[dict[str, Any]]


def _where(payload: RawPayload) -> dict[str, str]:
    return {"source": SOURCE, "dataset": payload.dataset, "location": payload.location}


def _text(payload: RawPayload) -> str:
    try:
        text = payload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotTabularError(f"not UTF-8 text (byte {exc.start})", **_where(payload)) from None
    if not text.strip():
        raise NotTabularError("empty payload", **_where(payload))
    if "\x00" in text:
        raise NotTabularError("binary data arrived instead of a FRED answer", **_where(payload))
    head = text.lstrip()[:512].lower()
    if "<html" in head or "<!doctype" in head:
        raise NotTabularError("an HTML page arrived instead of a FRED answer", **_where(payload))
    return text


def decode(payload: RawPayload, *, root: str, row: str) -> Envelope:
    """The envelope and rows of a FRED answer: XML root `<root>` with `<row>` children, or JSON `{root: [...]}`."""
    text = _text(payload)
    first = text.lstrip()[:1]
    if first == "<":
        return _decode_xml(payload, text, root=root, row=row)
    if first == "{":
        return _decode_json(payload, text, root=root, row=row)
    raise NotTabularError("neither XML nor JSON (FRED API answers are one of the two)", **_where(payload))


def _decode_xml(payload: RawPayload, text: str, *, root: str, row: str) -> Envelope:
    if "<!ENTITY" in text or "<!DOCTYPE" in text.upper():
        raise NotTabularError("XML with a document type declaration (FRED sends none)", **_where(payload))
    try:
        element = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        at_end = line >= text.rstrip().count("\n") + 1
        if exc.code in _EXPAT_CUT_SHORT and at_end:
            started = len(re.findall(rf"<{row}[\s/>]", text))
            raise TruncatedPayloadError(
                f"XML stops part-way (line {line}, column {column}), in or after {row} {started}",
                row=max(started, 1),
                **_where(payload),
            ) from None
        raise NotTabularError(f"malformed XML: {exc}", row=line, **_where(payload)) from None
    if element.tag == "error":
        message = element.get("message") or "(no message)"
        raise NotTabularError(f"FRED error {element.get('code', '?')}: {message}", **_where(payload))
    if element.tag != root:
        raise SchemaMismatchError(f"root element is <{element.tag}>, expected <{root}>", row=1, **_where(payload))
    rows = []
    for number, child in enumerate(element, start=1):
        if child.tag != row:
            raise SchemaMismatchError(
                f"element <{child.tag}> where <{row}> was expected", row=number, **_where(payload)
            )
        rows.append(dict(child.attrib))
    return Envelope(fields=dict(element.attrib), rows=rows)


def _decode_json(payload: RawPayload, text: str, *, root: str, row: str) -> Envelope:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        # the input ended inside a string, or where more was expected
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
            started = max(text.count("{") - 1, 1)  # objects begun inside the envelope's array
            raise TruncatedPayloadError(
                f"JSON stops part-way (line {exc.lineno}, column {exc.colno}), in or after {row} {started}",
                row=started,
                **_where(payload),
            ) from None
        raise NotTabularError(
            f"malformed JSON: {exc.msg} at line {exc.lineno}", row=exc.lineno, **_where(payload)
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert, absurd nesting
        raise NotTabularError(f"unreadable JSON: {type(exc).__name__}", **_where(payload)) from None
    if not isinstance(obj, dict):
        raise NotTabularError("JSON that is not an object", **_where(payload))
    if "error_message" in obj or "error_code" in obj:
        raise NotTabularError(
            f"FRED error {obj.get('error_code', '?')}: {obj.get('error_message', '(no message)')}", **_where(payload)
        )
    key = root  # FRED names the JSON array like the XML root: "observations", "seriess"
    rows = obj.get(key)
    if not isinstance(rows, list):
        raise SchemaMismatchError(f"no {key!r} array in the JSON answer", row=1, **_where(payload))
    out = []
    for number, item in enumerate(rows, start=1):
        if not isinstance(item, dict):
            raise SchemaMismatchError(f"{row} {number} is not an object", row=number, **_where(payload))
        out.append(item)
    fields = {k: v for k, v in obj.items() if k != key}
    return Envelope(fields=fields, rows=out)


def envelope_model(payload: RawPayload, envelope: Envelope, model: type[M]) -> M:
    """Validate the envelope's fields against `model`; a missing or malformed field is a schema mismatch."""
    try:
        return model.model_validate(envelope.fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(envelope)"
        raise SchemaMismatchError(f"envelope field {where}: {first['msg']}", row=1, **_where(payload)) from None


def iso_date(text: object) -> date | None:
    """A strict YYYY-MM-DD date (FRED's only date format), or None."""
    if not isinstance(text, str) or not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def page_info(data: bytes) -> ObservationPage | None:
    """count/offset/limit of an observations page, for paging; None when the bytes are not a readable page."""
    payload = RawPayload(source=SOURCE, dataset="?", location="?", data=data, fetched_at=_EPOCH)
    try:
        envelope = decode(payload, root="observations", row="observation")
        return envelope_model(payload, envelope, ObservationPage)
    except (NotTabularError, SchemaMismatchError, TruncatedPayloadError):
        return None


def error_message(data: bytes) -> str | None:
    """FRED's message from an error body (XML or JSON), if the body is one."""
    text = data.decode("utf-8", errors="replace").strip()
    try:
        if text.startswith("<"):
            element = ET.fromstring(text)
            return element.get("message") if element.tag == "error" else None
        if text.startswith("{"):
            obj = json.loads(text)
            return str(obj.get("error_message")) if isinstance(obj, dict) and "error_message" in obj else None
    except (ET.ParseError, json.JSONDecodeError):
        return None
    return None
