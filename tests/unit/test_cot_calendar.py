"""The COT release calendar against CFTC's own published schedules."""

from datetime import UTC, date, datetime, timedelta

import pytest

from resources.sources.cot.calendar import is_derived, regular_release_date, release_date, release_time

# CFTC's "Release Schedule" page, December 2023 to December 2024 (* = delayed by a federal holiday).
CFTC_2024_SCHEDULE = {
    (2023, 12): [1, 8, 15, 22, 29],
    (2024, 1): [5, 12, 19, 26],
    (2024, 2): [2, 9, 16, 23],
    (2024, 3): [1, 8, 15, 22, 29],
    (2024, 4): [5, 12, 19, 26],
    (2024, 5): [3, 10, 17, 24, 31],
    (2024, 6): [7, 14, 24, 28],  # 24*: Juneteenth on Wednesday
    (2024, 7): [8, 12, 19, 26],  # 8*: Independence Day on Thursday
    (2024, 8): [2, 9, 16, 23, 30],
    (2024, 9): [6, 13, 20, 27],
    (2024, 10): [4, 11, 18, 25],
    (2024, 11): [1, 8, 15, 22],
    (2024, 12): [2, 6, 13, 20, 30],  # 2*: Thanksgiving; 30*: Christmas on Wednesday
}
DELAYED_2024 = {date(2024, 6, 24), date(2024, 7, 8), date(2024, 12, 2), date(2024, 12, 30)}


def test_every_2024_release_matches_cftcs_schedule():
    expected = [date(y, m, d) for (y, m), days in CFTC_2024_SCHEDULE.items() for d in days]
    tuesdays = [date(2023, 11, 28) + timedelta(weeks=k) for k in range(len(expected))]
    assert [release_date(t) for t in tuesdays] == expected
    derived = {release_date(t) for t in tuesdays if is_derived(t)}
    assert derived == DELAYED_2024


@pytest.mark.parametrize(
    ("report", "released"),
    [
        (date(2018, 12, 24), date(2018, 12, 28)),  # Monday data: Christmas on Tuesday, released the usual Friday
        (date(2017, 7, 3), date(2017, 7, 7)),  # Monday data: Independence Day on Tuesday
        (date(2020, 6, 30), date(2020, 7, 6)),  # Independence Day observed on Friday 3 July
        (date(2021, 6, 15), date(2021, 6, 21)),  # the first Juneteenth, observed on Friday 18 June
        (date(2024, 1, 16), date(2024, 1, 19)),  # Martin Luther King Day on Monday delays nothing
        (date(2025, 11, 10), date(2025, 12, 12)),  # the 2025 lapse in appropriations: CFTC's catch-up date
        (date(2025, 12, 30), date(2026, 1, 13)),
    ],
)
def test_holiday_weeks_and_published_delays(report, released):
    assert release_date(report) == released
    assert is_derived(report) == (released != regular_release_date(report) or report.weekday() != 1)


def test_release_is_half_past_three_in_new_york_in_utc():
    assert release_time(date(2024, 1, 9)) == datetime(2024, 1, 12, 20, 30, tzinfo=UTC)  # EST
    assert release_time(date(2024, 7, 9)) == datetime(2024, 7, 12, 19, 30, tzinfo=UTC)  # EDT
    assert not is_derived(date(2024, 7, 9))


def test_a_non_tuesday_report_date_is_always_derived():
    # 2004-04-12 is a Monday report date in CFTC's 2004 Legacy file; its release is inferred by the rule
    assert is_derived(date(2004, 4, 12))
    assert release_date(date(2004, 4, 12)) > date(2004, 4, 12)
