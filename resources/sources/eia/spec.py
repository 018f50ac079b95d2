"""EIA: which series, where API v2 serves them, and the contracts and quality suites of the two silver tables.

Series ids are EIA's (the v1 ids without the `PET.`/`NG.` prefix and frequency suffix, which API v2 keeps as the
`series` facet). Units are stored as API v2 publishes them (`MBBL`, `$/BBL`...); the download CSVs spell them
out in their header (`Thousand Barrels`...) and are mapped to the same codes, so a file and an API response of
the same value are the same silver row, not two versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from resources.lake.tables import TableSpec, bitemporal_schema
from resources.quality.suites import ColumnRange, RowRule, SilverSuite

SOURCE = "eia"
PAGE_SIZE = 5000  # API v2 returns at most 5000 rows per JSON response

Cadence = Literal["weekly", "daily"]
Schedule = Literal["petroleum", "gas_storage", "prices"]


@dataclass(frozen=True)
class Route:
    """One API v2 data route, e.g. `petroleum/sum/sndw` (requested as `<base>/petroleum/sum/sndw/data/`)."""

    path: str
    frequency: Cadence
    schedule: Schedule
    dataset: str  # bronze dataset of its payloads


ROUTES: tuple[Route, ...] = (
    Route("petroleum/sum/sndw", "weekly", "petroleum", "petroleum_weekly_supply"),
    Route("natural-gas/stor/wkly", "weekly", "gas_storage", "natural_gas_weekly_storage"),
    Route("petroleum/pri/spt", "daily", "prices", "petroleum_spot_prices"),
    Route("petroleum/pri/fut", "daily", "prices", "petroleum_futures_prices"),
    Route("natural-gas/pri/fut", "daily", "prices", "natural_gas_prices"),
)
ROUTE_BY_PATH = {r.path: r for r in ROUTES}


@dataclass(frozen=True)
class Series:
    id: str
    route: str
    units: str  # as API v2 spells them
    description: str  # API v2 `series-description`
    min_value: float  # plausible range (quality suites)
    max_value: float

    @property
    def cadence(self) -> Cadence:
        return ROUTE_BY_PATH[self.route].frequency

    @property
    def schedule(self) -> Schedule:
        return ROUTE_BY_PATH[self.route].schedule


def _futures(prefix: str, route: str, units: str, text: str, lo: float, hi: float) -> list[Series]:
    return [Series(f"{prefix}{k}", route, units, text.format(k=k), lo, hi) for k in range(1, 5)]


SERIES: dict[str, Series] = {
    s.id: s
    for s in [
        Series(
            "WCESTUS1",
            "petroleum/sum/sndw",
            "MBBL",
            "U.S. Ending Stocks excluding SPR of Crude Oil (Thousand Barrels)",
            150_000,
            700_000,
        ),
        Series(
            "WPULEUS3",
            "petroleum/sum/sndw",
            "%",
            "U.S. Percent Utilization of Refinery Operable Capacity (Percent)",
            0,
            100,
        ),
        Series(
            "WCRFPUS2",
            "petroleum/sum/sndw",
            "MBBL/D",
            "U.S. Field Production of Crude Oil (Thousand Barrels per Day)",
            3_000,
            20_000,
        ),
        Series(
            "WCRIMUS2",
            "petroleum/sum/sndw",
            "MBBL/D",
            "U.S. Imports of Crude Oil (Thousand Barrels per Day)",
            1_000,
            15_000,
        ),
        Series(
            "WCREXUS2",
            "petroleum/sum/sndw",
            "MBBL/D",
            "U.S. Exports of Crude Oil (Thousand Barrels per Day)",
            0,
            10_000,
        ),
        Series(
            "NW2_EPG0_SWO_R48_BCF",
            "natural-gas/stor/wkly",
            "BCF",
            "Weekly Lower 48 States Natural Gas Working Underground Storage (Billion Cubic Feet)",
            300,
            5_000,
        ),
        Series("RWTC", "petroleum/pri/spt", "$/BBL", "Cushing, OK WTI Spot Price FOB (Dollars per Barrel)", -50, 250),
        Series("RBRTE", "petroleum/pri/spt", "$/BBL", "Europe Brent Spot Price FOB (Dollars per Barrel)", 0, 250),
        Series(
            "RNGWHHD",
            "natural-gas/pri/fut",
            "$/MMBTU",
            "Henry Hub Natural Gas Spot Price (Dollars per Million Btu)",
            0,
            30,
        ),
        *_futures(
            "RCLC",
            "petroleum/pri/fut",
            "$/BBL",
            "Cushing, OK Crude Oil Future Contract {k} (Dollars per Barrel)",
            -50,
            250,
        ),
        *_futures(
            "RNGC",
            "natural-gas/pri/fut",
            "$/MMBTU",
            "Natural Gas Futures Contract {k} (Dollars per Million Btu)",
            0,
            25,
        ),
    ]
}

# Units as the download CSV headers spell them (the header ends with them), longest first, and their API code.
FILE_UNITS: tuple[tuple[str, str], ...] = (
    ("Thousand Barrels per Day", "MBBL/D"),
    ("Thousand Barrels", "MBBL"),
    ("Dollars per Million Btu", "$/MMBTU"),
    ("Dollars per Barrel", "$/BBL"),
    ("Dollars per Gallon", "$/GAL"),
    ("Billion Cubic Feet", "BCF"),
    ("Million Cubic Feet", "MMCF"),
    ("Dollars per Thousand Cubic Feet", "$/MCF"),
    ("Number of Days", "DAYS"),
    ("BCF", "BCF"),
    ("Percent", "%"),
)

_SERIES_COLUMNS = (
    pa.field("series_id", pa.string(), nullable=False),
    pa.field("period", pa.date32(), nullable=False),
    pa.field("value", pa.float64()),  # null where EIA publishes a missing marker
    pa.field("units", pa.string(), nullable=False),
)

WEEKLY_SERIES = TableSpec(
    zone="silver",
    name="eia/weekly_series",
    schema=bitemporal_schema(*_SERIES_COLUMNS),
    keys=("series_id", "period"),
    date_column="period",
    description=(
        "EIA weekly petroleum supply (WPSR) and Lower 48 working gas (WNGSR), one row per series and week ending "
        "Friday; each revision EIA publishes is a new version."
    ),
    versioned=True,
)

DAILY_PRICES = TableSpec(
    zone="silver",
    name="eia/daily_prices",
    schema=bitemporal_schema(*_SERIES_COLUMNS),
    keys=("series_id", "period"),
    date_column="period",
    description=(
        "EIA daily spot (WTI Cushing, Brent, Henry Hub) and NYMEX futures contracts 1-4 (crude, natural gas), "
        "one row per series and trading day; known from EIA's weekly refresh of the price history."
    ),
    versioned=True,
)

TABLE_BY_CADENCE: dict[Cadence, TableSpec] = {"weekly": WEEKLY_SERIES, "daily": DAILY_PRICES}


def _ranges(cadence: Cadence) -> list[ColumnRange]:
    return [
        ColumnRange(column="value", min_value=s.min_value, max_value=s.max_value, where={"series_id": s.id})
        for s in SERIES.values()
        if s.cadence == cadence
    ]


# EIA publishes a week after it ends and a price after its trading day: never on the day the value describes
_COMMON_RULES = [
    RowRule(name="available_after_period", expression="available_at.dt.date > period"),
]

WEEKLY_QUALITY = SilverSuite(
    name="silver_eia_weekly_series",
    unique_keys=["series_id", "period", "version"],
    not_null=["series_id", "period", "units", "available_at", "source_sha256"],
    ranges=_ranges("weekly"),  # refinery utilization within 0..100, stocks and flows in plausible ranges
    rules=[
        *_COMMON_RULES,
        RowRule(name="weeks_end_on_friday", expression="period.astype('datetime64[s]').dt.dayofweek == 4"),
        RowRule(name="stocks_and_flows_non_negative", expression="~(value < 0)"),
        # a week's first publication comes 5 or 6 days after it ends, a few more around holidays (revisions: later)
        RowRule(
            name="first_release_within_two_weeks",
            expression=(
                "(version > 1) | ((available_at.dt.tz_localize(None) - period.astype('datetime64[s]')).dt.days <= 14)"
            ),
        ),
    ],
    series_keys=["series_id"],
    date_column="period",
)

DAILY_QUALITY = SilverSuite(
    name="silver_eia_daily_prices",
    unique_keys=["series_id", "period", "version"],
    not_null=["series_id", "period", "units", "available_at", "available_at_derived", "source_sha256"],
    ranges=_ranges("daily"),
    rules=[
        *_COMMON_RULES,
        RowRule(name="trading_days_only", expression="period.astype('datetime64[s]').dt.dayofweek < 5"),
        # spot and futures prices are positive; the one exception on record is WTI on 20 April 2020 (-37 $/bbl)
        RowRule(name="prices_non_negative", expression="~(value < 0)", mostly=0.9999),
        RowRule(name="price_times_are_inferred", expression="available_at_derived"),
    ],
    series_keys=["series_id"],
    date_column="period",
)
