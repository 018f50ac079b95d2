"""The COT release calendar against CFTC's own published schedules."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from resources.simulated import cot as sim
from resources.sources.cot.calendar import (
    PUBLISHED_DELAYS,
    WEEK_BOUND_DELAYS,
    is_derived,
    regular_release_date,
    release_date,
    release_time,
)

NEW_YORK = ZoneInfo("America/New_York")

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
        (date(2012, 12, 24), date(2012, 12, 28)),  # Monday data: Christmas on Tuesday, released the usual Friday
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


# CFTC, Market Intelligence Branch, Division of Market Oversight, 29 January 2019, "updated release schedule for
# CFTC market data reports that were delayed during the lapse in appropriations" (as quoted by the Hagstrom Report,
# thefencepost.com, "CFTC releases report schedule; Giancarlo praises staff"): "The last COT report was published on
# Dec. 21, 2018. Reports going forward from that date will be published in chronological order beginning with the
# report previously scheduled for release on Friday, Dec. 28, 2018. (based on data from Monday, Dec. 24, 2018). The
# CFTC expects to publish this report on Friday, Feb. 1, 2019. After this, the CFTC expects to publish one report on
# Tuesday and another on Friday of each week until the reports are current as per the normal schedule."
# (https://www.thefencepost.com/news/cftc-releases-report-schedule-giancarlo-praises-staff/)
# Current again with the 5 March 2019 report, released on Friday 8 March 2019
# (https://commitmentsoftraders.org/category/uncategorized/page/2/, "Current COT Reports Now Available").
LAPSE_2018_19 = {
    date(2018, 12, 24): date(2019, 2, 1),  # Monday data (Christmas on Tuesday)
    date(2018, 12, 31): date(2019, 2, 5),  # Monday data (New Year's Day on Tuesday)
    date(2019, 1, 8): date(2019, 2, 8),
    date(2019, 1, 15): date(2019, 2, 12),
    date(2019, 1, 22): date(2019, 2, 15),
    date(2019, 1, 29): date(2019, 2, 19),
    date(2019, 2, 5): date(2019, 2, 22),
    date(2019, 2, 12): date(2019, 2, 26),
    date(2019, 2, 19): date(2019, 3, 1),
    date(2019, 2, 26): date(2019, 3, 5),
}

# 2013 (lapse 1-16 October): CFTC press release 6745-13 (https://www.cftc.gov/PressRoom/PressReleases/6745-13), as
# summarised by the public code bases that fetched and cite it (its text is not in the offline corpora): "first
# delayed report 10/25, two more in the week of 10/28, more in the week of 11/04, normal schedule by 11/08". The
# 1 October report's date is CFTC's; the next four were announced by week only, so each is dated at its week's
# Friday (the latest it can have been released: never early); the 5 November report is on its regular Friday.
LAPSE_2013_PUBLISHED = {date(2013, 10, 1): date(2013, 10, 25)}
LAPSE_2013_WEEK_BOUND = {
    date(2013, 10, 8): date(2013, 11, 1),  # "two more in the week of 10/28"
    date(2013, 10, 15): date(2013, 11, 1),
    date(2013, 10, 22): date(2013, 11, 8),  # "more in the week of 11/04"
    date(2013, 10, 29): date(2013, 11, 8),
}


# 2025 (lapse 1 October - 12 November): CFTC, 18 November 2025, "Commitments of Traders Publication Schedule"
# (report date, original publish date, new publish date), as carried by Mondo Visione, "CFTC To Resume Publishing
# COT Reports Wednesday - The Agency Also Announced A 'Catch-Up' Publication Schedule To Issue Backlogged Reports"
# (https://mondovisione.com/media-and-resources/news/cftc-to-resume-publishing-cot-reports-wednesday-the-agency-also-announced-a-c-20251118/):
# "++COT publication returns to normal schedule" with the 20 January 2026 report, published 23 January 2026.
LAPSE_2025 = {
    date(2025, 9, 30): date(2025, 11, 19),  # "+First catch-up publication on Wednesday"
    date(2025, 10, 7): date(2025, 11, 21),
    date(2025, 10, 14): date(2025, 11, 25),
    date(2025, 10, 21): date(2025, 12, 2),
    date(2025, 10, 28): date(2025, 12, 5),
    date(2025, 11, 4): date(2025, 12, 9),
    date(2025, 11, 10): date(2025, 12, 12),  # Monday data (Veterans Day on Tuesday)
    date(2025, 11, 18): date(2025, 12, 16),
    date(2025, 11, 25): date(2025, 12, 19),
    date(2025, 12, 2): date(2025, 12, 23),
    date(2025, 12, 9): date(2025, 12, 30),
    date(2025, 12, 16): date(2026, 1, 6),
    date(2025, 12, 23): date(2026, 1, 9),
    date(2025, 12, 30): date(2026, 1, 13),
    date(2026, 1, 6): date(2026, 1, 16),
    date(2026, 1, 13): date(2026, 1, 20),
}


@pytest.mark.parametrize(
    ("lapse", "table", "announced"),
    [
        ("2018-19", LAPSE_2018_19, PUBLISHED_DELAYS),
        ("2025", LAPSE_2025, PUBLISHED_DELAYS),
        ("2013", LAPSE_2013_PUBLISHED, PUBLISHED_DELAYS),
        ("2013 by week", LAPSE_2013_WEEK_BOUND, WEEK_BOUND_DELAYS),
    ],
)
def test_shutdown_catch_up_releases(lapse, table, announced):
    for report, released in table.items():
        assert release_date(report) == released, (lapse, report)
        assert is_derived(report), (lapse, report)
        assert release_time(report).astimezone(NEW_YORK).strftime("%H:%M") == "15:30"
    # CFTC's own days are published dates; days CFTC announced only by week stay apart, flagged by their table's name
    assert announced.items() >= table.items()


def test_the_2013_catch_up_ends_on_the_regular_schedule_of_8_november():
    # "normal schedule by 11/08": the 5 November report on its own Friday, after the whole backlog, in order
    assert release_date(date(2013, 11, 5)) == date(2013, 11, 8) and not is_derived(date(2013, 11, 5))
    backlog = [date(2013, 10, 1) + timedelta(weeks=k) for k in range(6)]
    assert [release_date(d) for d in backlog] == sorted(release_date(d) for d in backlog)
    assert max(release_date(d) for d in backlog) == date(2013, 11, 8)


def test_shutdowns_start_and_end_on_the_regular_schedule():
    assert release_date(date(2018, 12, 18)) == date(2018, 12, 21) and not is_derived(date(2018, 12, 18))
    assert release_date(date(2019, 3, 5)) == date(2019, 3, 8) and not is_derived(date(2019, 3, 5))
    assert release_date(date(2013, 9, 24)) == date(2013, 9, 27) and not is_derived(date(2013, 9, 24))
    assert release_date(date(2013, 11, 12)) == date(2013, 11, 15) and not is_derived(date(2013, 11, 12))
    assert release_date(date(2026, 1, 20)) == date(2026, 1, 23) and not is_derived(date(2026, 1, 20))
    # the available_at of a delayed row is its catch-up release, 15:30 New York
    assert release_time(date(2019, 1, 8)) == datetime(2019, 2, 8, 20, 30, tzinfo=UTC)


def test_reports_are_released_in_order_and_after_their_report_date():
    tuesdays = [date(2010, 1, 5) + timedelta(weeks=k) for k in range(52 * 17)]
    released = [release_date(t) for t in tuesdays]
    assert all(r > t for r, t in zip(released, tuesdays, strict=True))
    assert released == sorted(released)


def test_the_simulated_publisher_follows_the_catch_up_calendar():
    def public(as_of: date) -> set[date]:
        return set(sim.published(7, "tff", True, sim.as_of_time(7, as_of)).report_date)

    assert max(public(date(2019, 1, 31))) == date(2018, 12, 18)  # nothing new during and after the lapse
    assert max(public(date(2019, 2, 1))) == date(2018, 12, 24)  # the first catch-up
    assert max(public(date(2019, 2, 5))) == date(2018, 12, 31)
    assert max(public(date(2019, 3, 7))) == date(2019, 2, 26)
    assert max(public(date(2019, 3, 8))) == date(2019, 3, 5)  # current again
    assert max(public(date(2013, 10, 24))) == date(2013, 9, 24)
    assert max(public(date(2013, 10, 25))) == date(2013, 10, 1)
    assert max(public(date(2013, 10, 31))) == date(2013, 10, 1)  # the week-bound reports wait for their Friday
    assert max(public(date(2013, 11, 1))) == date(2013, 10, 15)
    assert max(public(date(2013, 11, 8))) == date(2013, 11, 5)
    assert max(public(date(2013, 11, 15))) == date(2013, 11, 12)
