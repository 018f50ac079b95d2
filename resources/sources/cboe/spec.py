"""Cboe volatility indices: which indices, where Cboe publishes them, and the silver table's contract."""

from __future__ import annotations

import pyarrow as pa

from resources.lake.tables import TableSpec, bitemporal_schema
from resources.quality.suites import ColumnRange, RowRule, SilverSuite

SOURCE = "cboe"
SYMBOLS: tuple[str, ...] = ("VIX", "VIX3M", "VIX9D", "SKEW")
OPTIONAL_SYMBOLS: tuple[str, ...] = ("VVIX",)
HISTORY_PATH = "/api/global/us_indices/daily_prices/{symbol}_History.csv"
# Cboe's index values are final after the 16:15 ET close; the file carries that day's row from then on.
CLOSE_TIME_NY = (16, 15)

INDEX_CLOSES = TableSpec(
    zone="silver",
    name="cboe/index_closes",
    schema=bitemporal_schema(
        pa.field("index_symbol", pa.string(), nullable=False),
        pa.field("observed_date", pa.date32(), nullable=False),
        pa.field("open", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("low", pa.float64()),
        pa.field("close", pa.float64(), nullable=False),
    ),
    keys=("index_symbol", "observed_date"),
    date_column="observed_date",
    description="Cboe index daily values (VIX, VIX3M, VIX9D, SKEW), one version per restatement.",
    versioned=True,
)

QUALITY = SilverSuite(
    name="silver_cboe_index_closes",
    unique_keys=["index_symbol", "observed_date", "version"],
    not_null=["index_symbol", "observed_date", "close", "available_at", "source_sha256"],
    ranges=[
        ColumnRange(column="close", min_value=5, max_value=150, where={"index_symbol": "VIX"}),
        ColumnRange(column="close", min_value=5, max_value=150, where={"index_symbol": "VIX3M"}),
        ColumnRange(column="close", min_value=3, max_value=200, where={"index_symbol": "VIX9D"}),
        ColumnRange(column="close", min_value=90, max_value=200, where={"index_symbol": "SKEW"}),
    ],
    rules=[
        RowRule(name="high_not_below_low", expression="~(high < low)"),
        RowRule(
            name="close_within_high_low",
            expression="~((close > high * 1.0001) | (close < low * 0.9999))",
            mostly=0.999,
        ),
        RowRule(name="available_after_observed", expression="available_at.dt.date >= observed_date"),
    ],
    series_keys=["index_symbol"],
    date_column="observed_date",
)
