"""When a client's delivery is due: every trading day, each week's last trading day, or each month's."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from resources.feeds.clients import Cadence


@lru_cache(maxsize=64)
def _closed(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("NYSE", years=[year]).keys())


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _closed(day.year)


def last_trading_day_on_or_before(day: date) -> date:
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def _last_trading_day_of_week(day: date) -> date:
    return last_trading_day_on_or_before(day + timedelta(days=4 - day.weekday()))


def _last_trading_day_of_month(day: date) -> date:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return last_trading_day_on_or_before(next_month - timedelta(days=1))


def due_date(cadence: Cadence, day: date) -> date:
    """The latest delivery date of `cadence` on or before `day` (what a delivery run for `day` sends)."""
    today = last_trading_day_on_or_before(day)
    if cadence == "daily":
        return today
    if cadence == "weekly":
        end = _last_trading_day_of_week(today)
        return end if end <= day else _last_trading_day_of_week(today - timedelta(days=7))
    end = _last_trading_day_of_month(today)
    if end <= day:
        return end
    return _last_trading_day_of_month(today.replace(day=1) - timedelta(days=1))


def period_start(cadence: Cadence, due: date) -> date:
    """First day a delivery due on `due` covers: the day after the previous due date.

    A weekly client gets the whole week, a monthly one the month, and a daily client on Monday also gets the
    weekend's rows of instruments that trade then (crypto).
    """
    return due_date(cadence, due - timedelta(days=1)) + timedelta(days=1)
