"""From raw text cells to typed silver rows: the validation both COT wire formats share.

The readers (annual text files, Socrata JSON) hand over every needed column as strings; this module trims them,
turns CFTC's missing markers into nulls, checks codes, dates and numbers column-wise with Arrow compute (no
per-row Python on the happy path), refuses bad rows with their line or record number, and stamps each row with
the release time of its report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resources.lake.quarantine import Rejection, TooManyBadRows
from resources.lake.tables import UTC_TS
from resources.quality.row_policy import MAX_KEPT_BAD_ROWS
from resources.sources.base import ParseResult, parsed_columns
from resources.sources.cot.calendar import release_times
from resources.sources.cot.layouts import FUTURES_ONLY_VALUES, SITE_EXPORT_DATE, ReportLayout
from resources.sources.cot.spec import TABLES

# What CFTC (and Socrata) write for "no value": recovered as nulls, never refused.
MISSING_MARKERS = ("", ".", "NA", "N/A", "n/a", "na", "null", "NULL")
_CODE = r"^[0-9A-Z+]{6}$"  # consolidated markets end in "+" (13874+ is S&P 500 Consolidated)
_COUNT = r"^\d{1,15}$"  # contracts: a non-negative integer that fits int64 with room to add
_NEGATIVE = r"^-\d{1,15}$"


@dataclass
class RawRows:
    """Cells of one payload as text, one string array per silver column, plus how to point at a row."""

    columns: dict[str, pa.Array]  # market_name, cftc_contract_market_code, positions (strings, nulls allowed)
    dates: pa.Array  # report dates as text
    date_format: str  # strptime format of `dates`
    futures_flags: pa.Array | None  # FutOnly_or_Combined text per row, when the payload has the column
    futures_default: bool  # when the column is absent or empty
    line_of: Callable[[int], int]  # 1-based line (text) or record (JSON) number of row i
    raw_of: Callable[[int], str | None]  # the row as it appeared, for quarantine
    headers: dict[str, str]  # silver column -> the header or field name it came from (for messages)
    rejected: list[Rejection] = field(default_factory=list)  # rows the reader could not even split

    @property
    def num_rows(self) -> int:
        return len(self.dates)


def clean(values: pa.Array) -> pa.Array:
    """Trimmed strings with CFTC's missing markers as nulls, and negative zero (`-0`, combined reports) as `0`."""
    trimmed = pc.replace_substring_regex(pc.utf8_trim_whitespace(values.cast(pa.string())), r"^-0+$", "0")
    return pc.if_else(pc.is_in(trimmed, value_set=pa.array(MISSING_MARKERS)), pa.scalar(None, pa.string()), trimmed)


def _parse_dates(values: pa.Array, fmt: str) -> pa.Array:
    """Dates parsed strictly (31 February is refused), once per distinct value."""
    distinct = pc.unique(values).to_pylist()
    parsed: list[date | None] = []
    for text in distinct:
        try:
            parsed.append(_socrata_date(text) if fmt == SITE_EXPORT_DATE else datetime.strptime(text, fmt).date())
        except (TypeError, ValueError):
            parsed.append(None)
    positions = pc.index_in(values, value_set=pa.array(distinct, pa.string()))
    return pc.take(pa.array(parsed, pa.date32()), positions)


def _socrata_date(text: str) -> date:
    """A Socrata floating timestamp at midnight, as the site export writes it (ValueError otherwise)."""
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if moment.time() != datetime.min.time():
            raise ValueError(text)
        return moment.date()
    raise ValueError(text)


def _futures_only(rows: RawRows) -> tuple[pa.Array, pa.Array]:
    """(flag per row, bad-flag mask); unknown text is refused, an empty cell takes the payload's default."""
    n = rows.num_rows
    if rows.futures_flags is None:
        return pa.array([rows.futures_default] * n, pa.bool_()), pa.array([False] * n, pa.bool_())
    text = pc.utf8_lower(clean(rows.futures_flags))
    known = pa.array(list(FUTURES_ONLY_VALUES))
    flags = pc.is_in(text, value_set=pa.array([k for k, v in FUTURES_ONLY_VALUES.items() if v]))
    flags = pc.if_else(pc.is_null(text), rows.futures_default, flags)
    bad = pc.and_(pc.invert(pc.is_null(text)), pc.invert(pc.is_in(text, value_set=known)))
    return flags, bad


@dataclass(frozen=True)
class _Check:
    mask: pa.Array  # True where the row fails
    error_type: str
    reason: Callable[[int], str]


def build_result(layout: ReportLayout, rows: RawRows) -> ParseResult:
    """Validate and type `rows` into the layout's silver shape; bad rows become rejections."""
    n = rows.num_rows
    spec = TABLES[layout.report]
    name = clean(rows.columns["market_name"])
    code = clean(rows.columns["cftc_contract_market_code"])
    date_text = clean(rows.dates)
    dates = _parse_dates(date_text, rows.date_format)
    flags, bad_flag = _futures_only(rows)

    checks = [
        _Check(
            pc.invert(pc.fill_null(pc.match_substring_regex(code, _CODE), False)),
            "BadCode",
            lambda i: f"bad market code {code[i].as_py()!r} (want 6 letters, digits or +)",
        ),
        _Check(
            pc.is_null(dates),
            "BadDate",
            lambda i: f"bad report date {date_text[i].as_py()!r} (want {rows.date_format})",
        ),
        _Check(bad_flag, "BadValue", lambda i: f"unknown futures/combined flag {rows.futures_flags[i].as_py()!r}"),
    ]
    counts: dict[str, pa.Array] = {}
    combined = pc.invert(pc.fill_null(flags, True))
    for column in layout.position_columns:
        cells = clean(rows.columns[column])
        is_count = pc.fill_null(pc.match_substring_regex(cells, _COUNT), True)
        if column != "open_interest":  # delta-adjusted option positions of a combined report can be negative
            negative = pc.fill_null(pc.match_substring_regex(cells, _NEGATIVE), False)
            is_count = pc.or_(is_count, pc.and_(negative, combined))
        header = rows.headers.get(column, column)
        counts[column] = pc.cast(pc.if_else(is_count, cells, pa.scalar(None, pa.string())), pa.int64())
        checks.append(
            _Check(
                pc.invert(is_count),
                "BadValue",
                lambda i, cells=cells, header=header: (
                    f"negative {header} {cells[i].as_py()}"
                    if pc.match_substring_regex(cells[i : i + 1], _NEGATIVE)[0].as_py()
                    else f"non-numeric {header} {cells[i].as_py()!r}"
                ),
            )
        )

    failed = pa.array([False] * n, pa.bool_())
    for check in checks:
        failed = pc.or_(failed, check.mask)
    rejections: dict[int, Rejection] = {}
    bad = pc.indices_nonzero(failed)
    if len(bad) + len(rows.rejected) > MAX_KEPT_BAD_ROWS:  # bounded: describe only the rows quarantine keeps
        kept = rows.rejected[:MAX_KEPT_BAD_ROWS]
        for i in bad[: MAX_KEPT_BAD_ROWS - len(kept)].to_pylist():
            check = next(c for c in checks if c.mask[i].as_py())
            kept.append(Rejection(rows.line_of(i), check.reason(i), rows.raw_of(i), check.error_type))
        raise TooManyBadRows(sorted(kept, key=lambda r: r.row_number))
    for i in bad.to_pylist():
        check = next(c for c in checks if c.mask[i].as_py())
        rejections[i] = Rejection(rows.line_of(i), check.reason(i), rows.raw_of(i), check.error_type)

    keep = pc.invert(failed)
    _refuse_duplicates(rows, keep, dates, code, flags, rejections)
    keep = pa.array([i not in rejections for i in range(n)], pa.bool_()) if rejections else keep

    kept_dates = pc.filter(dates, keep)
    stamps = release_times(kept_dates.to_pylist())
    available = [stamps[d][0] for d in kept_dates.to_pylist()]
    derived = [stamps[d][1] for d in kept_dates.to_pylist()]
    table = pa.table(
        {
            "report_date": kept_dates,
            "cftc_contract_market_code": pc.filter(code, keep),
            "futures_only": pc.filter(flags, keep),
            "market_name": pc.filter(name, keep),
            **{column: pc.filter(values, keep) for column, values in counts.items()},
            "available_at": pa.array(available, UTC_TS),
            "available_at_derived": pa.array(derived, pa.bool_()),
        }
    )
    assert table.column_names == parsed_columns(spec)
    refused = [*rows.rejected, *rejections.values()]
    return ParseResult(table=table, rejections=sorted(refused, key=lambda r: r.row_number))


def _refuse_duplicates(
    rows: RawRows,
    keep: pa.Array,
    dates: pa.Array,
    code: pa.Array,
    flags: pa.Array,
    rejections: dict[int, Rejection],
) -> None:
    """A market may appear once per report date (and futures/combined flavour) in one payload."""
    frame = pd.DataFrame(
        {"date": dates.to_pandas(), "code": code.to_pandas(), "flag": flags.to_pandas(), "keep": keep.to_pandas()}
    )
    frame = frame[frame["keep"]]
    duplicated = frame.duplicated(["date", "code", "flag"], keep="first")
    if not duplicated.any():
        return
    first = frame.reset_index().groupby(["date", "code", "flag"])["index"].transform("first")
    first.index = frame.index
    for i in frame.index[duplicated]:
        day, market = frame.at[i, "date"], frame.at[i, "code"]
        reason = f"duplicate report for market {market} on {day} (first on line {rows.line_of(int(first[i]))})"
        rejections[int(i)] = Rejection(rows.line_of(int(i)), reason, rows.raw_of(int(i)), "Duplicate")
