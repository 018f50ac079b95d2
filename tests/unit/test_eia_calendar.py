"""EIA release times: the regular schedule, DST, and the holiday weeks EIA actually shifted."""

from datetime import UTC, date, datetime, timedelta

import pytest

from resources.sources.eia.calendar import (
    gas_storage_release,
    is_working_day,
    petroleum_release,
    price_release,
    week_ending,
)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("week_end", "expected", "derived"),
    [
        (date(2024, 8, 9), _utc(2024, 8, 14, 14, 30), False),  # Wednesday 10:30 EDT
        (date(2024, 2, 2), _utc(2024, 2, 7, 15, 30), False),  # Wednesday 10:30 EST
        (date(2024, 1, 12), _utc(2024, 1, 18, 16, 0), True),  # MLK Monday: Thursday 11:00
        (date(2023, 6, 16), _utc(2023, 6, 22, 15, 0), True),  # Juneteenth Monday: Thursday (Bloomberg, June 2023)
        (date(2024, 12, 20), _utc(2024, 12, 27, 18, 0), True),  # Dec 24 closure + Christmas: Friday 1 p.m. (Reuters)
        (date(2025, 12, 19), _utc(2025, 12, 29, 18, 0), True),  # Dec 24-26, 2025 closures: Monday 29 (Rigzone)
        (date(2017, 12, 29), _utc(2018, 1, 4, 16, 0), True),  # New Year Monday: Thursday
        (date(2024, 11, 22), _utc(2024, 11, 27, 15, 30), False),  # Thanksgiving does not touch Wednesday
    ],
)
def test_petroleum_release(week_end, expected, derived):
    release = petroleum_release(week_end)
    assert (release.at, release.derived) == (expected, derived)


@pytest.mark.parametrize(
    ("week_end", "expected", "derived"),
    [
        (date(2024, 8, 9), _utc(2024, 8, 15, 14, 30), False),  # Thursday 10:30 EDT
        (date(2024, 1, 12), _utc(2024, 1, 18, 15, 30), False),  # a Monday holiday leaves the gas report alone
        (date(2024, 11, 22), _utc(2024, 11, 27, 17, 0), True),  # Thanksgiving: Wednesday 12:00 EST
        (date(2015, 11, 6), _utc(2015, 11, 13, 15, 30), True),  # Veterans Day Wednesday: Friday (EIA notice)
        (date(2024, 6, 28), _utc(2024, 7, 5, 14, 30), True),  # July 4 on Thursday: Friday (conservative)
    ],
)
def test_gas_storage_release(week_end, expected, derived):
    release = gas_storage_release(week_end)
    assert (release.at, release.derived) == (expected, derived)


def test_prices_are_known_with_the_weekly_refresh_of_their_week():
    wpsr = petroleum_release(date(2024, 8, 9)).at
    for day in (date(2024, 8, 3), date(2024, 8, 5), date(2024, 8, 9)):  # Saturday, Monday, Friday
        assert week_ending(day) == date(2024, 8, 9)
        assert price_release(day).at == wpsr and price_release(day).derived
    assert price_release(date(2024, 8, 10)).at == petroleum_release(date(2024, 8, 16)).at


def test_every_week_is_released_after_it_ends_and_within_two_weeks():
    friday = date(2000, 1, 7)
    while friday < date(2031, 1, 1):
        for release in (petroleum_release(friday), gas_storage_release(friday)):
            lag = release.at - datetime.combine(friday, datetime.min.time(), tzinfo=UTC)
            assert timedelta(days=4) < lag < timedelta(days=14), friday
            assert is_working_day(release.at.date())
        friday += timedelta(days=7)
