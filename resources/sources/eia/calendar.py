"""When EIA makes each value public: the `available_at` rules of the EIA silver tables.

Weekly Petroleum Status Report (WPSR: crude stocks, refinery utilization, production, imports, exports)
    Data for the week ending Friday 7:00 a.m. are released after 10:30 a.m. Eastern on the following Wednesday.
    A federal holiday or closure on the Monday, Tuesday or Wednesday of the release week delays the release by one
    working day per lost day (MLK or Juneteenth Monday -> Thursday; Christmas 2024, Tuesday closure plus Wednesday
    holiday -> Friday; Christmas 2025, Wednesday closure plus Thursday and Friday -> Monday). A release that lands
    on Thursday comes after the gas storage report, at 11:00 a.m. (EIA's June 2008 notice); one delayed further
    came at 1:00 p.m. (Friday 27 December 2024), so later releases are dated 1:00 p.m.
Weekly Natural Gas Storage Report (WNGSR: Lower 48 working gas)
    Data for the week ending Friday are released at 10:30 a.m. Eastern on the following Thursday. A Monday or
    Tuesday holiday does not move it (EIA keeps the WNGSR at its normal time when the WPSR slides onto Thursday).
    Thanksgiving week: Wednesday at 12:00 noon (EIA's standing practice). A holiday or closure on Wednesday, or
    another holiday on Thursday, moves it to the next working day after Thursday at 10:30 (Veterans Day on
    Wednesday 11 November 2015 -> Friday 13 November). EIA sometimes publishes before a Thursday holiday instead;
    dating it after the holiday is the conservative choice: a fact is never claimed known before it was.
Daily spot and futures prices (RWTC, RBRTE, RNGWHHD, RCLC1-4, RNGC1-4)
    EIA republishes Refinitiv spot and CME futures prices; the history behind API v2 (and the "View History"
    downloads) is refreshed once a week, on Wednesday with the WPSR, not daily. The conservative rule used here:
    a price for day D is known at the WPSR release for the week (Saturday to Friday) that contains D. Those times
    are inferred, so every price row has `available_at_derived=True`.

Holidays are the U.S. federal holidays of the `holidays` package plus the closures it lists under the "government"
category (Christmas Eve closures by executive order, national days of mourning); half-day closings are ignored
because the release comes in the morning. Times shifted by a holiday are flagged `available_at_derived=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from resources.sources.base import at_new_york

WPSR_TIME = (10, 30)
WPSR_THURSDAY_TIME = (11, 0)  # after the WNGSR when a holiday pushes the WPSR onto Thursday
WPSR_LATE_TIME = (13, 0)  # a WPSR delayed beyond Thursday
WNGSR_TIME = (10, 30)
WNGSR_THANKSGIVING_TIME = (12, 0)


@dataclass(frozen=True)
class Release:
    """When a value became public (UTC) and whether that time is inferred rather than the regular schedule."""

    at: datetime
    derived: bool


@lru_cache(maxsize=64)
def _closures(year: int) -> frozenset[date]:
    days = holidays.US(years=year, categories=("public", "government"))
    return frozenset(d for d, name in days.items() if "half-day" not in name.lower())


def is_federal_closure(day: date) -> bool:
    return day in _closures(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_federal_closure(day)


def _working_days_after(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def _closures_between(first: date, last: date) -> int:
    return sum(1 for k in range((last - first).days + 1) if is_federal_closure(first + timedelta(days=k)))


def week_ending(day: date) -> date:
    """The Friday closing the Saturday-to-Friday week that contains `day`."""
    return day + timedelta(days=(4 - day.weekday()) % 7)


@lru_cache(maxsize=8192)
def petroleum_release(week_end: date) -> Release:
    """WPSR release of the week ending `week_end` (a Friday)."""
    wednesday = week_end + timedelta(days=5)
    lost = _closures_between(week_end + timedelta(days=3), wednesday)
    if lost == 0:
        return Release(at_new_york(wednesday, *WPSR_TIME), False)
    day = _working_days_after(wednesday, lost)
    hh_mm = WPSR_THURSDAY_TIME if day == wednesday + timedelta(days=1) else WPSR_LATE_TIME
    return Release(at_new_york(day, *hh_mm), True)


def _is_thanksgiving(day: date) -> bool:
    return day.month == 11 and day.weekday() == 3 and 22 <= day.day <= 28


@lru_cache(maxsize=8192)
def gas_storage_release(week_end: date) -> Release:
    """WNGSR release of the week ending `week_end` (a Friday)."""
    thursday = week_end + timedelta(days=6)
    if _is_thanksgiving(thursday):
        return Release(at_new_york(thursday - timedelta(days=1), *WNGSR_THANKSGIVING_TIME), True)
    if _closures_between(thursday - timedelta(days=1), thursday) == 0:
        return Release(at_new_york(thursday, *WNGSR_TIME), False)
    return Release(at_new_york(_working_days_after(thursday, 1), *WNGSR_TIME), True)


@lru_cache(maxsize=8192)
def price_release(day: date) -> Release:
    """When the daily price of `day` appears in EIA's history: with the WPSR of the week containing it (inferred)."""
    return Release(petroleum_release(week_ending(day)).at, True)
