"""Is a text payload cut off? Rules by class, so real files that end without a final newline still load.

Real publishers differ: every Cboe and COT file ends with a newline, while EIA download CSVs, FRED's current
layout and Coin Metrics' community CSVs often do not. So a missing final newline alone cannot mean "truncated":
- (a) a publisher that declares a final newline (`TailConvention.final_newline`) must end with one;
- (b) otherwise an unterminated last line must look whole: the field count of the lines above it, balanced
  quotes, and a complete last value for its column's kind (a number does not end in `.`, `-`, `+` or `e`, is not
  empty; a date is a whole date); where the column has one fixed number of decimals over the sampled lines
  above (Cboe's 6, a FRED series' precision), the last value must have it too. Only the last value can be cut
  when the field count is right, so it is the one checked;
- (c) `whole_file_quotes`: a file with an odd number of quote characters has an unterminated quote (COT).
A cut that still looks whole (a Coin Metrics float cut to fewer digits) cannot be seen here; `Tail` hands the
last line's value to the landing pipeline, which corrects it in place when a later payload completes it.
The check reads only the last `TAIL_BYTES` of the payload, so its cost does not grow with the file.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from resources.errors import TruncatedPayloadError

TAIL_BYTES = 256 * 1024
_COMPLETE_NUMBER = re.compile(r"^[+-]?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?$")
_NUMBER_PREFIX = re.compile(r"^[+-]?\d*\.?\d*([eE][+-]?\d*)?$")
_DATES = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), (0, 1, 2)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (2, 0, 1)),
)

MISSING_MARKERS = frozenset({"", ".", "NA", "N/A", "#N/A", "NAN", "--", "NULL", "NONE"})
_MIN_FIXED_SAMPLE = 10


class TailConvention(BaseModel):
    """How a publisher ends its text files."""

    model_config = ConfigDict(frozen=True)

    publisher: str
    final_newline: bool = False
    whole_file_quotes: bool = False
    delimiter: str = ","
    sample_lines: int = 500


@dataclass(frozen=True)
class Tail:
    """The unterminated last line of a payload that passed the checks: its text and its last value's text."""

    line: str
    value_text: str


def decimals(text: str) -> int:
    mantissa = text.split("e")[0].split("E")[0]
    return len(mantissa.split(".", 1)[1]) if "." in mantissa else 0


def _whole_date(text: str) -> bool:
    for pattern, order in _DATES:
        match = pattern.match(text)
        if match:
            parts = [int(g) for g in match.groups()]
            try:
                date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return False
            return True
    return False


def _kind(values: list[str]) -> str:
    """`number`, `date` or `text`: what nearly all non-missing values of a column above the last line are.

    Nearly all, not all: a header or preamble line above the data is among the sampled lines of a short file.
    """
    present = [v for v in values if v.upper() not in MISSING_MARKERS]
    if not present:
        return "text"
    least = max(1, int(len(present) * 0.9))
    if sum(1 for v in present if _COMPLETE_NUMBER.match(v)) >= least:
        return "number"
    if sum(1 for v in present if _whole_date(v)) >= least:
        return "date"
    return "text"


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def check_tail(
    text: str | bytes, convention: TailConvention, where: dict[str, Any], *, width: int | None = None
) -> Tail | None:
    """Raise `TruncatedPayloadError` when `text` is cut off; return the unterminated last line if it looks whole.

    `width` is the header's field count; without it, the commonest field count of the lines above is used. Given
    the payload's bytes (UTF-8), only the last `TAIL_BYTES` are decoded: no text copy of the whole file.
    """
    raw = isinstance(text, bytes)
    quote, newline = (b'"', b"\n") if raw else ('"', "\n")
    if convention.whole_file_quotes and text.count(quote) % 2:  # type: ignore[arg-type]
        raise TruncatedPayloadError(
            "cut off: the file has an unterminated quote (it stops inside a quoted field)", **where
        )
    ends = (b"\n", b"\r") if raw else ("\n", "\r")
    if not text or text.isspace() or text.endswith(ends):  # type: ignore[arg-type]  # isspace: no copy
        return None
    tail = text[-TAIL_BYTES:].decode("utf-8", errors="replace") if raw else text[-TAIL_BYTES:]  # type: ignore[union-attr]
    lines = tail.splitlines()
    last = lines[-1]
    line_no = text.count(newline) + 1  # type: ignore[arg-type]
    where = {**where, "row": line_no}
    if convention.final_newline:
        raise TruncatedPayloadError(
            f"cut off: {convention.publisher} ends every file with a newline; this one stops in {last[-60:]!r}",
            **where,
        )
    if last.count('"') % 2:
        raise TruncatedPayloadError(f"cut off: the last line stops inside a quoted field: {last[-60:]!r}", **where)
    above_start = 1 if len(text) > TAIL_BYTES else 0  # the first line of a partial tail may itself be partial
    above = [_split(line, convention.delimiter) for line in lines[above_start:-1] if line.strip()]
    above = above[-convention.sample_lines :]
    if not above:
        return None
    fields = _split(last, convention.delimiter)
    width = width or Counter(len(row) for row in above).most_common(1)[0][0]
    if len(fields) != width:
        raise TruncatedPayloadError(
            f"cut off: the last line has {len(fields)} of {width} fields and no final newline: {last[-60:]!r}", **where
        )
    value = fields[-1].strip()
    column = [row[-1].strip() for row in above if len(row) == width]
    kind = _kind(column)
    if not value:
        raise TruncatedPayloadError(
            "cut off: the last line ends in an empty value and no final newline (a cut right after the delimiter)",
            **where,
        )
    if kind == "number":
        if value.upper() in MISSING_MARKERS:
            return Tail(last, value)
        if not _COMPLETE_NUMBER.match(value):
            if _NUMBER_PREFIX.match(value):
                raise TruncatedPayloadError(f"cut off: the last value {value!r} is an unfinished number", **where)
            return Tail(last, value)  # not a number at all: a bad row for the parser, not a cut
        places = {decimals(v) for v in column if _COMPLETE_NUMBER.match(v)}
        sampled = sum(1 for v in column if _COMPLETE_NUMBER.match(v))
        if len(places) == 1 and sampled >= _MIN_FIXED_SAMPLE and decimals(value) not in places:
            raise TruncatedPayloadError(
                f"cut off: the last value {value!r} has {decimals(value)} decimals, every value above {places.pop()}",
                **where,
            )
    elif kind == "date" and not _whole_date(value):
        raise TruncatedPayloadError(f"cut off: the last value {value!r} is not a whole date", **where)
    return Tail(last, value)


CBOE = TailConvention(publisher="Cboe", final_newline=True)
COT = TailConvention(publisher="CFTC", final_newline=True, whole_file_quotes=True)
FRED = TailConvention(publisher="FRED")
EIA = TailConvention(publisher="EIA")
COINMETRICS = TailConvention(publisher="Coin Metrics")
