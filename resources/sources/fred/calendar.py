"""When FRED publishes: its business days and the first-release rule of each daily series.

FRED (the St. Louis Fed) posts on weekdays that are not US federal holidays. Two release patterns cover the
default series:
- next business day: market closes (SP500, NASDAQ100) and the H.15 interest rates (DGS*, T10Y*) of day D appear
  on FRED's next business day;
- H.10 weekly: the Federal Reserve's H.10 release (DEX* exchange rates, DTWEX* dollar indexes) comes out weekly
  on Mondays at 4:15 p.m. ET with the previous week's daily rates, so day D appears on the first business day of
  the following week.
The simulated publisher releases on these dates, and CSV downloads (which carry no vintage) assume them.

An ALFRED vintage is dated (`realtime_start`), not timed. `available_at` puts it at 17:00 New York time, after
FRED's usual posting times (market closes in the morning, H.15 and H.10 around 16:15 ET), and marks it derived.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from resources.sources.base import at_new_york

AVAILABLE_TIME_NY = (17, 0)
_H10_PREFIXES = ("DEX", "DTWEX")
_FEDERAL = holidays.country_holidays("US")


def is_h10_series(series_id: str) -> bool:
    """Exchange rates and dollar indexes from the Fed's weekly H.10 release."""
    return series_id.upper().startswith(_H10_PREFIXES)


@lru_cache(maxsize=65536)
def is_business_day(day: date) -> bool:
    """A day FRED publishes on: a weekday that is not a US federal holiday (the Fed is closed on those)."""
    return day.weekday() < 5 and day not in _FEDERAL


def next_business_day(day: date) -> date:
    """The first FRED business day strictly after `day`."""
    nxt = day + timedelta(days=1)
    while not is_business_day(nxt):
        nxt += timedelta(days=1)
    return nxt


def on_or_after_business_day(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=262144)
def first_release(series_id: str, observation_date: date) -> date:
    """The date FRED first shows `observation_date` of a daily series (its first vintage's realtime_start)."""
    if is_h10_series(series_id):
        next_monday = observation_date + timedelta(days=7 - observation_date.weekday())
        return on_or_after_business_day(next_monday)
    return next_business_day(observation_date)


@lru_cache(maxsize=65536)
def vintage_available_at(realtime_start: date) -> datetime:
    """When a vintage dated `realtime_start` is taken to be public (UTC): that day at 17:00 in New York."""
    return at_new_york(realtime_start, *AVAILABLE_TIME_NY)
