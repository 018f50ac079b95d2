"""When each publisher releases, as a list of instants: what the release sensors wait for.

One stream per release a publisher makes on its own calendar, built from the source calendars that also date the
silver rows (`available_at`), so a trigger and the data it loads can never disagree:
- cboe: NYSE trading days, after the 16:15 ET close;
- fred: FRED business days (weekdays without federal holidays) at 17:00 ET, the first-release time of a vintage;
- coinmetrics: every day at 06:00 UTC (the previous UTC day's values);
- eia_petroleum: the Weekly Petroleum Status Report, Wednesday 10:30 ET unless a holiday shifts it (it also
  refreshes EIA's daily price history, so it triggers the EIA daily ingest too);
- eia_gas: the Weekly Natural Gas Storage Report, Thursday 10:30 ET unless shifted (Thanksgiving: Wednesday noon);
- cot: CFTC's Commitments of Traders, Friday 15:30 ET, or the third federal business day after the report date.
Each release is loaded as of its New York day (the as-of partition that contains it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from resources.sources.base import at_new_york
from resources.sources.cboe.spec import CLOSE_TIME_NY
from resources.sources.coinmetrics.spec import available_at as coinmetrics_available_at
from resources.sources.cot.calendar import release_time as cot_release_time
from resources.sources.eia.calendar import gas_storage_release, petroleum_release
from resources.sources.fred.calendar import AVAILABLE_TIME_NY, is_business_day

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, order=True)
class Release:
    """One expected publication: the instant (UTC) and the stream it belongs to."""

    at: datetime
    stream: str

    @property
    def as_of(self) -> date:
        """The New York day the release belongs to: the as-of partition that loads it."""
        return self.at.astimezone(NEW_YORK).date()


@lru_cache(maxsize=64)
def _nyse_closed(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("NYSE", years=year).keys())


def _days(first: date, last: date) -> Iterator[date]:
    for k in range((last - first).days + 1):
        yield first + timedelta(days=k)


def _cboe(day: date) -> list[datetime]:
    if day.weekday() >= 5 or day in _nyse_closed(day.year):
        return []
    return [at_new_york(day, *CLOSE_TIME_NY)]


def _fred(day: date) -> list[datetime]:
    return [at_new_york(day, *AVAILABLE_TIME_NY)] if is_business_day(day) else []


def _coinmetrics(day: date) -> list[datetime]:
    # The values of UTC day D-1 are public on D at 06:00 UTC, which is early on D in New York as well.
    return [coinmetrics_available_at(day - timedelta(days=1))]


def _weekly(release_of_week: Callable[[date], datetime]) -> Callable[[date], list[datetime]]:
    """A weekly report keyed by a reference day: releases whose New York day is `day` (holiday shifts included)."""

    def on(day: date) -> list[datetime]:
        # A shifted release can land up to a week after its regular day: look at the reports of the last two weeks.
        found = []
        for back in range(0, 15):
            ref = day - timedelta(days=back)
            instant = release_of_week(ref)
            if instant.astimezone(NEW_YORK).date() == day and instant not in found:
                found.append(instant)
        return found

    return on


def _eia_petroleum_of(ref: date) -> datetime:
    # Reports are keyed by their week-ending Friday; any other reference day maps to a date far away (never equal).
    return petroleum_release(ref).at if ref.weekday() == 4 else datetime(1900, 1, 1, tzinfo=UTC)


def _eia_gas_of(ref: date) -> datetime:
    return gas_storage_release(ref).at if ref.weekday() == 4 else datetime(1900, 1, 1, tzinfo=UTC)


def _cot_of(ref: date) -> datetime:
    # CFTC reports are dated Tuesday (Monday when Tuesday is a holiday: same release day, see cot/calendar.py).
    return cot_release_time(ref) if ref.weekday() == 1 else datetime(1900, 1, 1, tzinfo=UTC)


STREAMS: dict[str, Callable[[date], list[datetime]]] = {
    "cboe": _cboe,
    "fred": _fred,
    "coinmetrics": _coinmetrics,
    "eia_petroleum": _weekly(_eia_petroleum_of),
    "eia_gas": _weekly(_eia_gas_of),
    "cot": _weekly(_cot_of),
}


# Which ingest multi-assets each release refreshes (EIA's daily price history is refreshed with the WPSR).
STREAM_INGESTS: dict[str, tuple[str, ...]] = {
    "cboe": ("cboe_ingest",),
    "fred": ("fred_ingest",),
    "coinmetrics": ("coinmetrics_ingest",),
    "eia_petroleum": ("eia_weekly_ingest", "eia_daily_ingest"),
    "eia_gas": ("eia_weekly_ingest",),
    "cot": ("cot_ingest",),
}


def streams_of(ingest_name: str) -> tuple[str, ...]:
    """The release streams that refresh an ingest multi-asset."""
    return tuple(stream for stream, names in STREAM_INGESTS.items() if ingest_name in names)


def releases_on(stream: str, day: date) -> list[Release]:
    """The releases of `stream` expected on New York day `day`."""
    return [Release(at, stream) for at in STREAMS[stream](day)]


def releases_between(stream: str, after: datetime, until: datetime) -> list[Release]:
    """Releases of `stream` expected in (after, until], oldest first."""
    first = after.astimezone(NEW_YORK).date()
    last = until.astimezone(NEW_YORK).date()
    found = [r for day in _days(first, last) for r in releases_on(stream, day)]
    return sorted(r for r in found if after < r.at <= until)


def latest_release(stream: str, until: datetime, lookback_days: int = 14) -> Release | None:
    """The newest release of `stream` at or before `until` (None when none in the lookback)."""
    found = releases_between(stream, until - timedelta(days=lookback_days), until)
    return found[-1] if found else None
