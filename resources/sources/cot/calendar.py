"""When CFTC made each Commitments of Traders report public.

CFTC's rule, as published on its release-schedule page ("The Commitments of Traders reports are released at 3:30
p.m. Eastern time ... usually released on Friday ... The release usually includes data from the previous
Tuesday ... Federal holidays may delay release by one or two days"; "Use of Monday data, due to Tuesday US
holiday"), reads as: **the report is released at 15:30 New York time on the third federal business day after its
report date.** Every delayed date on CFTC's schedules agrees with it:
- 2024: Juneteenth (Wed 19 June) moved the Friday 21 June release to Monday 24 June; 4 July (Thu) moved 5 July to
  Monday 8 July; Thanksgiving moved 29 November to Monday 2 December; Christmas (Wed) moved 27 December to 30 December;
- 2025: Veterans Day on Tuesday 11 November gave Monday data (10 November) released on Friday 14 November; the
  Tuesday 30 December 2025 report was due on Monday 5 January 2026 (New Year's Day on the Thursday);
- Monday holidays (MLK, Presidents', Memorial, Labor, Columbus Day) delay nothing: three business days still end
  on Friday.
Holidays come from the `holidays` package (US federal calendar, with observed days and Juneteenth from 2021).

`available_at_derived` is True when a holiday shaped the date (a release on another day than the report week's
Friday, or a report date other than Tuesday); a regular Tuesday-to-Friday release is CFTC's own schedule.

Not modelled by the rule: government shutdowns (lapses in appropriations) and ad-hoc closures. During a lapse CFTC
publishes no COT report; afterwards it publishes the backlog in chronological order on a catch-up schedule, two or
more reports a week, until it is current. Those release days are in `PUBLISHED_DELAYS` (CFTC's own dates) and
`WEEK_BOUND_DELAYS` (CFTC announced the week only: its Friday), all marked derived:
- 2025 (lapse 1 October - 12 November 2025): CFTC's published table, see `PUBLISHED_DELAYS` (CFTC, 18 November
  2025, "CFTC To Resume Publishing COT Reports Wednesday - The Agency Also Announced A 'Catch-Up' Publication
  Schedule To Issue Backlogged Reports", with the table of report date / original / new publish date, as carried
  by Mondo Visione: https://mondovisione.com/media-and-resources/news/cftc-to-resume-publishing-cot-reports-wednesday-the-agency-also-announced-a-c-20251118/).
- 2018-19 (lapse 22 December 2018 - 25 January 2019): CFTC, Market Intelligence Branch, Division of Market
  Oversight, "updated release schedule for CFTC market data reports that were delayed during the lapse in
  appropriations" (29 January 2019; quoted by the Hagstrom Report, thefencepost.com, "CFTC releases report
  schedule; Giancarlo praises staff"): "The last COT report was published on Dec. 21, 2018. Reports going forward
  ... will be published in chronological order beginning with the report previously scheduled for release on
  Friday, Dec. 28, 2018 (based on data from Monday, Dec. 24, 2018). The CFTC expects to publish this report on
  Friday, Feb. 1, 2019. After this, the CFTC expects to publish one report on Tuesday and another on Friday of each
  week until the reports are current as per the normal schedule."
  (https://www.thefencepost.com/news/cftc-releases-report-schedule-giancarlo-praises-staff/). Current again with
  the 5 March 2019 report, released on its regular day, Friday 8 March 2019 (commitmentsoftraders.org, "Current COT
  Reports Now Available": "the first time since the government shutdown began in December 2018 ... tabulated on
  Tuesday, March 5, 2019", with twice-weekly delayed releases until then,
  https://commitmentsoftraders.org/category/uncategorized/page/2/).
- 2013 (lapse 1-16 October 2013): CFTC press release 6745-13 (23 October 2013 by the code that cites it),
  https://www.cftc.gov/PressRoom/PressReleases/6745-13. Its text is NOT in the offline corpora (searched on
  5 December 2026: pages, docs, issues and code corpora; the pages hits are Reuters, 17 October 2013, "This week's
  Commitments of Traders, cotton data delayed - CFTC", http://www.reuters.com/article/usa-fiscal-cftc-idUSL1N0I71GG20131017:
  "will announce a revised schedule", and the report files themselves, which carry no release dates). What it
  announced is known from public code that fetched and cites it (several files in the code index, same day):
  "first delayed report 10/25, two more in the week of 10/28, more in the week of 11/04, normal schedule by 11/08";
  "CFTC resumed rolling publication 2013-10-25 and expected normal schedule by 2013-11-08". So:
  - the 1 October report on Friday 25 October 2013: CFTC's own date, in `PUBLISHED_DELAYS`;
  - the 8 and 15 October reports in the week of 28 October, the 22 and 29 October reports in the week of
    4 November: CFTC gave the week, not the day, so `WEEK_BOUND_DELAYS` dates each at its week's Friday (1 and
    8 November), the latest day it can have been released: never earlier than the truth, at most four days late;
  - the 5 November report on its regular day, Friday 8 November 2013 ("normal schedule by 11/08"), by the rule.
  If the press release's day-by-day table turns up, move the four week-bound dates to `PUBLISHED_DELAYS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from resources.sources.base import at_new_york

RELEASE_TIME_NY = (15, 30)
BUSINESS_DAYS_TO_RELEASE = 3

# Report date -> publication date announced by CFTC after the 2025 lapse in appropriations (CFTC press release,
# 18 November 2025: "COT publication returns to normal schedule" with the 20 January 2026 report). Looked up by
# report week, so a report dated another day of the same week (Monday data) gets the same date.
_LAPSE_2025: dict[date, date] = {
    date(2025, 9, 30): date(2025, 11, 19),
    date(2025, 10, 7): date(2025, 11, 21),
    date(2025, 10, 14): date(2025, 11, 25),
    date(2025, 10, 21): date(2025, 12, 2),
    date(2025, 10, 28): date(2025, 12, 5),
    date(2025, 11, 4): date(2025, 12, 9),
    date(2025, 11, 10): date(2025, 12, 12),
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


# The 2018-19 lapse (CFTC, 29 January 2019: first catch-up Friday 1 February 2019, then one report each Tuesday and
# Friday until current). Monday report dates: Christmas and New Year's Day fell on Tuesdays.
_LAPSE_2018_19: dict[date, date] = {
    date(2018, 12, 24): date(2019, 2, 1),
    date(2018, 12, 31): date(2019, 2, 5),
    date(2019, 1, 8): date(2019, 2, 8),
    date(2019, 1, 15): date(2019, 2, 12),
    date(2019, 1, 22): date(2019, 2, 15),
    date(2019, 1, 29): date(2019, 2, 19),
    date(2019, 2, 5): date(2019, 2, 22),
    date(2019, 2, 12): date(2019, 2, 26),
    date(2019, 2, 19): date(2019, 3, 1),
    date(2019, 2, 26): date(2019, 3, 5),
    # 5 March 2019: current again, released on its regular day (Friday 8 March) by the rule
}

# The 2013 lapse (CFTC press release 6745-13, 23 October 2013, see the module docstring): CFTC's own date.
_LAPSE_2013: dict[date, date] = {date(2013, 10, 1): date(2013, 10, 25)}
PUBLISHED_DELAYS: dict[date, date] = _LAPSE_2013 | _LAPSE_2018_19 | _LAPSE_2025

# The same release announced only the week of the next catch-ups ("two more in the week of 10/28, more in the week
# of 11/04"): each at its week's Friday, never earlier than CFTC released it. The 5 November report was on its
# regular day again (8 November), so it needs no entry.
WEEK_BOUND_DELAYS: dict[date, date] = {
    date(2013, 10, 8): date(2013, 11, 1),
    date(2013, 10, 15): date(2013, 11, 1),
    date(2013, 10, 22): date(2013, 11, 8),
    date(2013, 10, 29): date(2013, 11, 8),
}

_DELAYS_BY_WEEK = {d.isocalendar()[:2]: out for d, out in (PUBLISHED_DELAYS | WEEK_BOUND_DELAYS).items()}


def published_delay(report_date: date) -> date | None:
    """The catch-up release day of a report of a week delayed by a shutdown (any report date within that week)."""
    return _DELAYS_BY_WEEK.get(report_date.isocalendar()[:2])


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.US(years=year).keys())


def is_federal_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def regular_release_date(report_date: date) -> date:
    """The Friday of the report's week: CFTC's schedule when no holiday interferes."""
    return report_date + timedelta(days=(4 - report_date.weekday()) % 7)


@lru_cache(maxsize=8192)
def release_date(report_date: date) -> date:
    """The day CFTC released the report dated `report_date` (third federal business day after it)."""
    delayed = published_delay(report_date)
    if delayed is not None:
        return delayed
    day, counted = report_date, 0
    while counted < BUSINESS_DAYS_TO_RELEASE:
        day += timedelta(days=1)
        if is_federal_business_day(day):
            counted += 1
    return day


def is_derived(report_date: date) -> bool:
    """True when a holiday (or a published delay) rather than the regular Tuesday-Friday cycle set the release."""
    return (
        published_delay(report_date) is not None
        or report_date.weekday() != 1
        or release_date(report_date) != regular_release_date(report_date)
    )


def release_time(report_date: date) -> datetime:
    """The release instant (UTC) of the report dated `report_date`."""
    hour, minute = RELEASE_TIME_NY
    return at_new_york(release_date(report_date), hour, minute)


def release_times(report_dates: Iterable[date]) -> dict[date, tuple[datetime, bool]]:
    """(release instant, derived) for each distinct report date."""
    return {d: (release_time(d), is_derived(d)) for d in set(report_dates)}
