"""COT silver tables (one per report) and their quality suites.

Rows are keyed by (report_date, cftc_contract_market_code, futures_only): CFTC renames markets, so the name is a
value, never a key; `futures_only` keeps the futures-only and the futures-and-options combined reports apart when
both are loaded (NEXUS_COT_COMBINED switches the API to the combined datasets). Positions are CFTC's "All"
columns in contracts; change, percent and trader-count columns are left out (derivable, or not needed).
"""

from __future__ import annotations

import pyarrow as pa

from resources.lake.tables import TableSpec, bitemporal_schema
from resources.quality.suites import ColumnRange, RowRule, SilverSuite
from resources.sources.cot.layouts import LAYOUTS, MARKET_CODE, MARKET_NAME, ReportKind, ReportLayout

SOURCE = "cot"
API_PATH = "/resource/{dataset_id}.json"
DEFAULT_PAGE_SIZE = 10_000
KEYS = ("report_date", "cftc_contract_market_code", "futures_only")
# Largest open interest CFTC has reported is a few tens of millions of contracts (SOFR, Eurodollar).
MAX_PLAUSIBLE_OPEN_INTEREST = 50_000_000
# Long side: categories' longs + spreads + non-reportable longs = open interest (exactly, in CFTC's files).
CONSISTENCY_TOLERANCE = (0.001, 2)  # relative to open interest, plus absolute contracts


def _schema(layout: ReportLayout) -> pa.Schema:
    return bitemporal_schema(
        pa.field("report_date", pa.date32(), nullable=False),
        pa.field(MARKET_CODE.column, pa.string(), nullable=False),
        pa.field("futures_only", pa.bool_(), nullable=False),
        pa.field(MARKET_NAME.column, pa.string()),
        *(pa.field(column, pa.int64()) for column in layout.position_columns),
    )


def _table(layout: ReportLayout) -> TableSpec:
    return TableSpec(
        zone="silver",
        name=f"{SOURCE}/{layout.report}_positions",
        schema=_schema(layout),
        keys=KEYS,
        date_column="report_date",
        description=(
            f"CFTC Commitments of Traders, {layout.title} report: open interest and every trader category's long, "
            "short and spread positions per market code and report date (Tuesday), one version per revision."
        ),
        versioned=True,
    )


def _side_rule(name: str, columns: tuple[str, ...]) -> RowRule:
    rel, absolute = CONSISTENCY_TOLERANCE
    total = " + ".join(columns)
    return RowRule(
        name=name,
        expression=f"abs({total} - open_interest) <= open_interest * {rel} + {absolute}",
        mostly=0.999,
    )


def _suite(layout: ReportLayout, spec: TableSpec) -> SilverSuite:
    spreads = layout.spread_columns
    return SilverSuite(
        name=f"silver_cot_{layout.report}_positions",
        unique_keys=[*KEYS, "version"],
        not_null=[*KEYS, "market_name", "open_interest", "available_at", "source_sha256"],
        ranges=[
            ColumnRange(column="open_interest", min_value=0, max_value=MAX_PLAUSIBLE_OPEN_INTEREST),
            *(  # combined reports delta-adjust option positions, which can make one slightly negative
                ColumnRange(column=c, min_value=0, where={"futures_only": True})
                for c in layout.position_columns
                if c != "open_interest"
            ),
        ],
        rules=[
            _side_rule("longs_add_up_to_open_interest", (*layout.long_columns, *spreads)),
            _side_rule("shorts_add_up_to_open_interest", (*layout.short_columns, *spreads)),
            RowRule(
                name="positions_within_open_interest",
                expression=" & ".join(f"({c} <= open_interest)" for c in layout.position_columns[1:]),
                mostly=0.999,
            ),
            RowRule(name="released_after_report_date", expression="available_at.dt.date > report_date"),
        ],
        series_keys=["cftc_contract_market_code", "futures_only"],
        date_column=spec.date_column,
    )


TABLES: dict[ReportKind, TableSpec] = {report: _table(layout) for report, layout in LAYOUTS.items()}
QUALITY: dict[ReportKind, SilverSuite] = {report: _suite(LAYOUTS[report], TABLES[report]) for report in LAYOUTS}

LEGACY_POSITIONS = TABLES["legacy"]
TFF_POSITIONS = TABLES["tff"]
DISAGGREGATED_POSITIONS = TABLES["disaggregated"]
