"""What a backfill re-derives: per source, each silver table with the bronze payloads that feed it and their parser.

The parsers are the project's own (the nightly path's), so a backfill follows every parser change. Everything here
is a module-level function or a `functools.partial` of one, so Spark can ship it to its executors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from resources.lake.bronze import RawPayload
from resources.lake.tables import TableSpec
from resources.sources.base import Parser

BACKFILL_SOURCES = ("cot", "fred", "coinmetrics")

ManifestRow = dict[str, Any]


@dataclass(frozen=True)
class TablePlan:
    """One silver table: which bronze payloads feed it and how each is parsed."""

    spec: TableSpec
    parse: Parser
    selects: Callable[[ManifestRow], bool]


def _is_fred_series_answer(row: ManifestRow) -> bool:
    return urlsplit(str(row["location"])).path.rstrip("/").endswith("/series")


def _is_fred_observations(row: ManifestRow) -> bool:
    return not _is_fred_series_answer(row)


def parse_fred_observations(payload: RawPayload) -> Any:
    """A FRED observations payload: a CSV download (files mode) or an API page, as the nightly path parses it."""
    from resources.sources.fred.api_parser import parse_observations
    from resources.sources.fred.parser import parse_fred_csv

    is_csv = payload.location.lower().split("?")[0].endswith(".csv") or "csv" in (payload.media_type or "").lower()
    return parse_fred_csv(payload) if is_csv else parse_observations(payload)


def _always(row: ManifestRow) -> bool:
    return True


def _is_cot_report(row: ManifestRow, *, report: str) -> bool:
    from resources.sources.cot.layouts import layout_for_dataset

    layout = layout_for_dataset(str(row["dataset"]))
    return layout is not None and layout.report == report


def plans_for(source: str) -> list[TablePlan]:
    """The silver tables of `source` a backfill rebuilds, in the order the nightly ingest lands them."""
    if source == "fred":
        from resources.sources.fred.api_parser import parse_series
        from resources.sources.fred.spec import OBSERVATIONS, SERIES

        return [
            TablePlan(OBSERVATIONS, parse_fred_observations, _is_fred_observations),
            TablePlan(SERIES, parse_series, _is_fred_series_answer),
        ]
    if source == "coinmetrics":
        from resources.sources.coinmetrics.parser import parse_coinmetrics
        from resources.sources.coinmetrics.spec import ASSET_METRICS

        return [TablePlan(ASSET_METRICS, parse_coinmetrics, _always)]
    if source == "cot":
        from resources.sources.cot.layouts import REPORTS
        from resources.sources.cot.parser import parse_cot_payload
        from resources.sources.cot.spec import TABLES

        return [
            TablePlan(TABLES[r], partial(parse_cot_payload, expect=r), partial(_is_cot_report, report=r))
            for r in REPORTS
        ]
    raise ValueError(f"no backfill for {source!r}; choose from {', '.join(BACKFILL_SOURCES)}")


def knowledge_time(row: ManifestRow) -> datetime:
    """When a payload's content was public (RawPayload.knowledge_time, from its manifest row)."""
    value = row["as_of"] or row["fetched_at"]
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def landing_order(rows: list[ManifestRow]) -> list[ManifestRow]:
    """Payloads in the order the nightly path merges them: by knowledge time, then dataset (land_payloads' sort),
    then fetch time and hash so that ties within one run keep their fetch order."""
    return sorted(rows, key=lambda r: (knowledge_time(r), r["dataset"], r["fetched_at"], r["sha256"]))


def payload_of(row: ManifestRow, data: bytes) -> RawPayload:
    return RawPayload(
        source=row["source"],
        dataset=row["dataset"],
        location=row["location"],
        data=data,
        fetched_at=row["fetched_at"],
        media_type=row["media_type"],
        as_of=row["as_of"],
    )


def range_predicate(column: str, start: date | None, end: date | None) -> str | None:
    """The SQL predicate of a partial backfill's date range (None: the whole table)."""
    parts = []
    if start is not None:
        parts.append(f"`{column}` >= '{start.isoformat()}'")
    if end is not None:
        parts.append(f"`{column}` <= '{end.isoformat()}'")
    return " AND ".join(parts) or None
