"""The EIA Great Expectations suites accept what EIA publishes and catch what it never would."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from resources.quality.suites import validate
from resources.sources.eia.spec import DAILY_QUALITY, WEEKLY_QUALITY


def _frame(rows: list[tuple[str, date, float | None, str, datetime, int]], derived: bool = False) -> pd.DataFrame:
    columns = ["series_id", "period", "value", "units", "available_at", "version"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["available_at"] = pd.to_datetime(frame["available_at"], utc=True)
    frame["available_at_derived"] = derived
    frame["is_revision"] = frame["version"] > 1
    frame["ingested_at"] = pd.Timestamp("2024-07-01", tz="UTC")
    frame["source_sha256"] = "x" * 64
    return frame


WEDNESDAY = datetime(2024, 6, 26, 14, 30, tzinfo=UTC)
WEEKLY = [
    ("WCESTUS1", date(2024, 6, 14), 457105.0, "MBBL", datetime(2024, 6, 20, 15, tzinfo=UTC), 1),
    ("WCESTUS1", date(2024, 6, 21), 460696.0, "MBBL", WEDNESDAY, 1),
    ("WCESTUS1", date(2024, 6, 21), 460000.0, "MBBL", datetime(2024, 7, 3, tzinfo=UTC), 2),
    ("WPULEUS3", date(2024, 6, 21), 93.5, "%", WEDNESDAY, 1),
    ("NW2_EPG0_SWO_R48_BCF", date(2024, 6, 21), None, "BCF", WEDNESDAY, 1),
]


def _failed(frame: pd.DataFrame, suite) -> set[str]:
    outcome = validate(frame, suite)
    return {f"{f.expectation}:{f.column}" for f in outcome.failures}


def test_weekly_suite_passes_eia_data():
    assert _failed(_frame(WEEKLY), WEEKLY_QUALITY) == set()


@pytest.mark.parametrize(
    ("row", "failure"),
    [
        (("WPULEUS3", date(2024, 6, 28), 101.0, "%", WEDNESDAY, 1), "_range_value_WPULEUS3"),
        (("WCESTUS1", date(2024, 6, 26), 455000.0, "MBBL", WEDNESDAY, 1), "_rule_weeks_end_on_friday"),
        (("WCRFPUS2", date(2024, 6, 21), -5.0, "MBBL/D", WEDNESDAY, 1), "_rule_stocks_and_flows_non_negative"),
        (("WCESTUS1", date(2024, 5, 3), 455000.0, "MBBL", WEDNESDAY, 1), "_rule_first_release_within_two_weeks"),
        (("WCESTUS1", date(2024, 6, 21), 1.0, "MBBL", WEDNESDAY, 1), "series_id,period,version"),
        (("WCESTUS1", date(2024, 6, 28), 1.0, "MBBL", datetime(2024, 6, 28, 15, tzinfo=UTC), 1), "after_period"),
    ],
    ids=["utilization-over-100", "not-a-friday", "negative", "released-late", "duplicate-key", "known-too-early"],
)
def test_weekly_suite_catches(row, failure):
    failed = _failed(_frame([*WEEKLY, row]), WEEKLY_QUALITY)
    assert any(failure in f for f in failed), failed


def test_daily_suite():
    wednesday = datetime(2024, 7, 3, 14, 30, tzinfo=UTC)
    rows = [
        ("RWTC", date(2024, 6, 24), 81.6, "$/BBL", wednesday, 1),
        ("RNGC1", date(2024, 6, 28), 2.6, "$/MMBTU", wednesday, 1),
    ]
    assert _failed(_frame(rows, derived=True), DAILY_QUALITY) == set()
    weekend = [*rows, ("RWTC", date(2024, 6, 29), 81.0, "$/BBL", wednesday, 1)]
    assert any("trading_days_only" in f for f in _failed(_frame(weekend, derived=True), DAILY_QUALITY))
    assert any("price_times_are_inferred" in f for f in _failed(_frame(rows, derived=False), DAILY_QUALITY))
