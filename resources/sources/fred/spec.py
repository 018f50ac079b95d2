"""FRED: which series, the API's fixed values, and the silver tables' contracts and quality suites."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from resources.lake.tables import UTC_TS, TableSpec, bitemporal_schema
from resources.quality.suites import ColumnRange, RowRule, SilverSuite

SOURCE = "fred"
DEFAULT_SERIES: tuple[str, ...] = (
    "SP500",
    "NASDAQ100",
    "DGS10",
    "DGS2",
    "DGS3MO",
    "T10Y2Y",
    "T10Y3M",
    "DEXUSEU",
    "DEXJPUS",
    "DTWEXBGS",
)
OBSERVATIONS_PATH = "/series/observations"
SERIES_PATH = "/series"
# FRED's bounds of real time (fredapi's earliest_realtime_start / latest_realtime_end): asking for the whole
# real-time period is what makes each row's realtime_start the true start of its vintage, not a clipped one.
EARLIEST_REALTIME = date(1776, 7, 4)
LATEST_REALTIME = date(9999, 12, 31)
MAX_LIMIT = 100_000  # FRED's largest (and default) page size for series/observations
MISSING = "."  # FRED's missing-value marker in the API and in old CSV downloads
# A well-formed (32 lower-case alphanumerics) key for the simulated publisher; it opens nothing real.
SIMULATED_API_KEY = "nexussimulatedpublisherkey000000"

OBSERVATIONS = TableSpec(
    zone="silver",
    name="fred/observations",
    schema=bitemporal_schema(
        pa.field("series_id", pa.string(), nullable=False),
        pa.field("observation_date", pa.date32(), nullable=False),
        pa.field("realtime_start", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("vintage_inferred", pa.bool_(), nullable=False),
    ),
    keys=("series_id", "observation_date", "realtime_start"),
    date_column="observation_date",
    description=(
        "FRED/ALFRED observations, one row per series, observation date and vintage (realtime_start). A revised "
        "value is a new vintage row; earlier vintages are never rewritten. value is null where FRED shows '.'. "
        "vintage_inferred: realtime_start assumed from FRED's release calendar (CSV downloads carry no vintage)."
    ),
    versioned=True,
)

SERIES = TableSpec(
    zone="silver",
    name="fred/series",
    schema=bitemporal_schema(
        pa.field("series_id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("units", pa.string()),
        pa.field("units_short", pa.string()),
        pa.field("frequency", pa.string()),
        pa.field("frequency_short", pa.string()),
        pa.field("seasonal_adjustment", pa.string()),
        pa.field("seasonal_adjustment_short", pa.string()),
        pa.field("observation_start", pa.date32()),
        pa.field("observation_end", pa.date32()),
        pa.field("last_updated", UTC_TS, nullable=False),
        pa.field("popularity", pa.int32()),
        pa.field("notes", pa.string()),
    ),
    keys=("series_id",),
    date_column=None,
    description=(
        "FRED series metadata (fred/series): title, units, frequency, seasonal adjustment, last update; "
        "any change is a new version."
    ),
    versioned=True,
)

YIELD_SERIES: tuple[str, ...] = ("DGS10", "DGS2", "DGS3MO", "T10Y2Y", "T10Y3M")
# Plausible ranges of the positive series (indexes and FX), wide enough for decades of history.
POSITIVE_RANGES: dict[str, tuple[float, float]] = {
    "SP500": (50.0, 100_000.0),
    "NASDAQ100": (50.0, 500_000.0),
    "DEXUSEU": (0.3, 3.0),
    "DEXJPUS": (20.0, 500.0),
    "DTWEXBGS": (30.0, 300.0),
}

OBSERVATIONS_QUALITY = SilverSuite(
    name="silver_fred_observations",
    unique_keys=["series_id", "observation_date", "realtime_start", "version"],
    not_null=["series_id", "observation_date", "realtime_start", "available_at", "source_sha256"],
    ranges=[
        *[ColumnRange(column="value", min_value=-5, max_value=25, where={"series_id": s}) for s in YIELD_SERIES],
        *[
            ColumnRange(column="value", min_value=lo, max_value=hi, where={"series_id": s})
            for s, (lo, hi) in POSITIVE_RANGES.items()
        ],
    ],
    rules=[
        RowRule(name="vintage_not_before_observation", expression="realtime_start >= observation_date"),
        RowRule(name="available_on_vintage_date", expression="available_at.dt.date >= realtime_start"),
    ],
    # per (series, observation): vintages strictly increase and each key's versions are ordered by availability
    series_keys=["series_id", "observation_date"],
    date_column="realtime_start",
)

SERIES_QUALITY = SilverSuite(
    name="silver_fred_series",
    unique_keys=["series_id", "version"],
    not_null=["series_id", "title", "last_updated", "available_at", "source_sha256"],
    rules=[
        RowRule(name="observation_range_ordered", expression="~(observation_start > observation_end)"),
        RowRule(name="available_after_update", expression="available_at >= last_updated"),
    ],
)
