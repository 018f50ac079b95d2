"""Reference tables the marts join to: the instruments of the universe file and the trading calendars.

They are derived from configuration and well-known calendars rather than fetched, so they are rebuilt whole on
every run (a replace, not a merge): the universe file is the source of truth, and a removed instrument must
disappear from `dim_instruments`.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pyarrow as pa

from resources.lake.tables import TableSpec
from resources.universe import Universe


def calendar_end(end_date: date, today: date) -> date:
    """Last day of the trading-day reference: the end of the year after the later of the configured end date and
    today. It follows the configuration (no fixed last year) and always reaches past the newest data, since the
    marts and the labels need trading days after the last publication (a D+10 label looks two weeks ahead)."""
    return date(max(end_date, today).year + 1, 12, 31)


INSTRUMENTS = TableSpec(
    zone="silver",
    name="reference/instruments",
    schema=pa.schema(
        [
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("name", pa.string(), nullable=False),
            pa.field("asset_class", pa.string(), nullable=False),
            pa.field("calendar", pa.string(), nullable=False),
            pa.field("price_source", pa.string(), nullable=False),
            pa.field("price_series", pa.string(), nullable=False),
            pa.field("price_field", pa.string()),
            pa.field("price_kind", pa.string(), nullable=False),
            pa.field("duration", pa.float64()),
            pa.field("cot_market_code", pa.string()),
            pa.field("cot_report", pa.string()),
            pa.field("cot_sign", pa.int8()),
        ]
    ),
    keys=("symbol",),
    description="Instruments of the universe file: price series, calendar and CFTC market (keyed by code).",
)

COT_MARKETS = TableSpec(
    zone="silver",
    name="reference/cot_markets",
    schema=pa.schema(
        [
            pa.field("cftc_contract_market_code", pa.string(), nullable=False),
            pa.field("label", pa.string(), nullable=False),
            pa.field("report", pa.string(), nullable=False),
            pa.field("sign", pa.int8(), nullable=False),
            pa.field("symbol", pa.string()),
        ]
    ),
    keys=("cftc_contract_market_code",),
    description="CFTC markets to follow (instruments' and positioning-only), with the report that fits each.",
)

TRADING_DAYS = TableSpec(
    zone="silver",
    name="reference/trading_days",
    schema=pa.schema(
        [
            pa.field("calendar", pa.string(), nullable=False),
            pa.field("trade_date", pa.date32(), nullable=False),
        ]
    ),
    keys=("calendar", "trade_date"),
    date_column="trade_date",
    description=(
        "Trading days per calendar: NYSE (weekdays without NYSE holidays, from the holidays package) and CRYPTO "
        "(every day), to the end of the year after the configured end date."
    ),
)


LAKE_AS_OF = TableSpec(
    zone="silver",
    name="reference/lake_as_of",
    schema=pa.schema([pa.field("as_of_date", pa.date32())]),
    keys=(),
    description=(
        "The day the lake is as of (one row; null when unknown): no mart row is dated after it "
        "(resources/lake/as_of.py, dbt macro as_of_cap)."
    ),
)


def lake_as_of_table(day: date | None) -> pa.Table:
    return pa.table({"as_of_date": pa.array([day], pa.date32())}, schema=LAKE_AS_OF.schema)


def instruments_table(universe: Universe) -> pa.Table:
    rows = [
        {
            "symbol": i.symbol,
            "name": i.name,
            "asset_class": i.asset_class,
            "calendar": i.calendar,
            "price_source": i.price.source,
            "price_series": i.price.series,
            "price_field": i.price.field,
            "price_kind": i.price.kind,
            "duration": i.price.duration,
            "cot_market_code": i.cot.market_code if i.cot else None,
            "cot_report": i.cot.report if i.cot else None,
            "cot_sign": i.cot.sign if i.cot else None,
        }
        for i in universe.instruments
    ]
    return pa.Table.from_pylist(rows, schema=INSTRUMENTS.schema)


def cot_markets_table(universe: Universe) -> pa.Table:
    symbol_by_code = {i.cot.market_code: i.symbol for i in universe.instruments if i.cot}
    rows = [
        {
            "cftc_contract_market_code": m.market_code,
            "label": m.name,
            "report": m.report,
            "sign": m.sign,
            "symbol": symbol_by_code.get(m.market_code),
        }
        for m in universe.cot_markets()
    ]
    return pa.Table.from_pylist(rows, schema=COT_MARKETS.schema)


def trading_days_table(start: date, end: date) -> pa.Table:
    """NYSE and crypto trading days between start and end (NYSE holidays from the `holidays` package)."""
    nyse_closed = set(holidays.financial_holidays("NYSE", years=range(start.year, end.year + 1)).keys())
    calendars: list[str] = []
    days: list[date] = []
    day = start
    while day <= end:
        calendars.append("CRYPTO")
        days.append(day)
        if day.weekday() < 5 and day not in nyse_closed:
            calendars.append("NYSE")
            days.append(day)
        day += timedelta(days=1)
    return pa.table({"calendar": calendars, "trade_date": days}, schema=TRADING_DAYS.schema)
