"""Lazy lines of a decoded payload, so parsing costs memory for the text only, not for a list of its lines.

Why: a parser stops at the bad-row bound (`resources.quality.row_policy`), but a list of every line (or a
`StringIO` copy, four bytes a character) is paid before the first row is read: a 50 MB file of garbage cost
~750 MB. These helpers walk the text in place; line endings are CR, LF or CRLF, as the csv module reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_BREAK = re.compile(r"\r\n|\r|\n")
_NOT_BLANK = re.compile(r"\S")


def iter_lines(text: str, *, keepends: bool = False, start: int = 0) -> Iterator[str]:
    """The lines of `text` from offset `start`, one at a time (with their endings when `keepends`, for csv)."""
    for match in _BREAK.finditer(text, start):
        yield text[start : match.end() if keepends else match.start()]
        start = match.end()
    if start < len(text):
        yield text[start:]


def line_count(text: str) -> int:
    """How many lines `text.splitlines()` would give for CSV text (CR, LF and CRLF breaks), without the list."""
    return _count_breaks(text, len(text)) + (0 if not text or text.endswith(("\n", "\r")) else 1)


def has_text_after(text: str, offset: int) -> bool:
    """Whether anything but whitespace follows `offset` (without copying the rest of the text)."""
    return _NOT_BLANK.search(text, offset) is not None


def last_nonblank_line(text: str) -> int:
    """1-based number of the last line holding anything but whitespace (0 for a blank text)."""
    end = len(text)
    while end and text[end - 1].isspace():
        end -= 1
    if not end:
        return 0
    return _count_breaks(text, end) + 1


def _count_breaks(text: str, end: int) -> int:
    return text.count("\n", 0, end) + text.count("\r", 0, end) - text.count("\r\n", 0, end)
