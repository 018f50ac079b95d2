"""FRED's publication calendar: business days, first releases (next day or weekly H.10), vintage times."""

from datetime import UTC, date, datetime

import pytest

from resources.sources.fred.calendar import first_release, is_business_day, is_h10_series, vintage_available_at


def test_business_days_skip_weekends_and_federal_holidays():
    assert is_business_day(date(2024, 1, 2))
    assert not is_business_day(date(2024, 1, 6))  # Saturday
    assert not is_business_day(date(2024, 10, 14))  # Columbus Day: the Fed is closed, the NYSE is not
    assert not is_business_day(date(2024, 6, 19))  # Juneteenth
    assert is_business_day(date(2024, 3, 29))  # Good Friday: a federal business day


@pytest.mark.parametrize(
    ("series_id", "observed", "released"),
    [
        ("SP500", date(2024, 1, 2), date(2024, 1, 3)),
        ("SP500", date(2024, 1, 5), date(2024, 1, 8)),  # Friday -> Monday
        ("DGS10", date(2024, 1, 12), date(2024, 1, 16)),  # Friday -> Tuesday after MLK day
        ("DGS10", date(2023, 12, 29), date(2024, 1, 2)),  # over New Year's Day
        ("DEXUSEU", date(2024, 1, 8), date(2024, 1, 16)),  # H.10: next Monday is MLK day -> Tuesday
        ("DEXJPUS", date(2024, 1, 12), date(2024, 1, 16)),
        ("DTWEXBGS", date(2024, 8, 30), date(2024, 9, 3)),  # Monday Sep 2 is Labor Day -> Tuesday
        ("DTWEXBGS", date(2024, 9, 3), date(2024, 9, 9)),  # the week of Labor Day, the Monday after
    ],
)
def test_first_release(series_id, observed, released):
    assert first_release(series_id, observed) == released


def test_h10_series_and_vintage_times():
    assert is_h10_series("DEXUSEU") and is_h10_series("dtwexbgs") and not is_h10_series("DGS10")
    assert vintage_available_at(date(2024, 7, 1)) == datetime(2024, 7, 1, 21, 0, tzinfo=UTC)  # 17:00 EDT
    assert vintage_available_at(date(2024, 12, 2)) == datetime(2024, 12, 2, 22, 0, tzinfo=UTC)  # 17:00 EST
