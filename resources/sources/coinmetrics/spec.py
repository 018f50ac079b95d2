"""Coin Metrics: where the community API lives, when daily metrics become public, and the silver table's contract.

Silver is long, one row per (asset, metric, observed_date): a metric a user adds to the universe, or any extra
column of a community CSV, lands without a schema change, and a restated value of one metric (realized cap, say)
becomes a new version of that cell alone instead of a new version of a whole wide row.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa

from resources.lake.tables import TableSpec, bitemporal_schema
from resources.quality.suites import ColumnRange, RowRule, SilverSuite

SOURCE = "coinmetrics"
ASSET_METRICS_PATH = "/timeseries/asset-metrics"
# Dataset name of API pages in bronze (files are named after their asset: btc, eth, ...).
API_DATASET = "asset_metrics"
FREQUENCY = "1d"
# The API's maximum; one page holds 27 years of two assets, so a normal run is a single request.
PAGE_SIZE = 10_000
MAX_PAGES = 1_000

DEFAULT_ASSETS: tuple[str, ...] = ("btc", "eth")
DEFAULT_METRICS: tuple[str, ...] = (
    "PriceUSD",
    "CapMVRVCur",
    "CapMrktCurUSD",
    "CapRealUSD",
    "AdrActCnt",
    "TxTfrValAdjUSD",
    "NVTAdj",
    "HashRate",
    "SplyAdrTop100",
    "VtyDayRet30d",
)
# Every community CSV carries a price column; a file without it has been renamed or is not a Coin Metrics file.
REQUIRED_CSV_METRICS: tuple[str, ...] = ("PriceUSD",)
# Community columns whose values are identifiers, not numbers (kept in bronze; silver holds numbers only).
TEXT_METRICS = frozenset({"principal_market_usd"})

# Daily network data for UTC day D is computed after D closes (00:00 UTC on D+1) and reaches the community API
# within hours. We take 06:00 UTC on D+1, a conservative bound, as the time the value became public.
PUBLISH_DELAY = timedelta(days=1, hours=6)

ASSET_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
METRIC_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,79}$")


def available_at(day: date) -> datetime:
    """When Coin Metrics' daily value for UTC day `day` was public (06:00 UTC the next day)."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC) + PUBLISH_DELAY


ASSET_METRICS = TableSpec(
    zone="silver",
    name="coinmetrics/asset_metrics",
    schema=bitemporal_schema(
        pa.field("asset", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("observed_date", pa.date32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ),
    keys=("asset", "metric", "observed_date"),
    date_column="observed_date",
    description=(
        "Coin Metrics daily asset metrics (community), long: one row per asset, metric, UTC day and version. "
        "A restatement adds a version; nothing is overwritten."
    ),
    versioned=True,
)


def _range(metric: str, lo: float | None, hi: float | None, mostly: float = 1.0) -> ColumnRange:
    return ColumnRange(column="value", min_value=lo, max_value=hi, mostly=mostly, where={"metric": metric})


# Plausible ranges per metric (all assets). Bounds leave room for the history since 2009 and decades of growth;
# a value outside them is a unit or parsing error, not a market move. MVRV above 50 occurred only on the first
# two days of BTC prices (July 2010), hence `mostly`.
QUALITY = SilverSuite(
    name="silver_coinmetrics_asset_metrics",
    unique_keys=["asset", "metric", "observed_date", "version"],
    not_null=["asset", "metric", "observed_date", "value", "available_at", "source_sha256"],
    ranges=[
        _range("PriceUSD", 1e-9, 1e8),
        _range("CapMrktCurUSD", 1e-9, 1e15),
        _range("CapRealUSD", 0, 1e15),
        _range("CapMVRVCur", 0.05, 50, mostly=0.999),
        _range("AdrActCnt", 0, 1e9),
        _range("TxTfrValAdjUSD", 0, 1e14),
        _range("NVTAdj", 0, 1e9),
        _range("HashRate", 0, 1e15),
        _range("SplyAdrTop100", 0, 1e12),
        _range("VtyDayRet30d", 0, 5),
    ],
    rules=[
        RowRule(name="value_is_finite", expression="abs(value) < 1e300"),
        RowRule(name="available_after_the_utc_day", expression="available_at.dt.date > observed_date"),
    ],
    series_keys=["asset", "metric"],
    date_column="observed_date",
)
