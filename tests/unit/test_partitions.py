"""The catalog tells the truth: partitions are NYSE trading days from the lake's start, weekends and holidays fold
into the trading day before them, and one `nexus run` range covers every partition it loaded."""

from datetime import date, timedelta

from dagster import PartitionKeyRange

from assets.partitions import (
    PARTITIONS,
    keys_spanning,
    nexus_partitions,
    partition_key_for,
    trading_day_partitions,
    weekly_partitions_from,
)
from resources.reference import trading_days_table
from resources.settings import get_settings

TODAY = date(2026, 1, 15)


def test_daily_partitions_are_the_trading_days_from_the_lake_start():
    daily = trading_day_partitions(date(2016, 1, 1), TODAY)  # New Year's Day: the first partition is the 4th
    assert daily.get_first_partition_key() == "2016-01-04"
    keys = daily.get_partition_keys_in_range(PartitionKeyRange("2016-01-04", "2025-12-31"))
    calendar = trading_days_table(date(2016, 1, 1), date(2025, 12, 31)).to_pandas()
    nyse = sorted(str(d) for d in calendar.query("calendar == 'NYSE'")["trade_date"])
    assert keys == nyse and len(keys) == 2514
    july = daily.get_partition_keys_in_range(PartitionKeyRange("2024-07-01", "2024-07-09"))
    assert july == ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09"]


def test_the_code_location_starts_at_the_configured_lake_start():
    start = get_settings().start_date
    first = PARTITIONS["daily"].get_first_partition_key()
    assert first is not None and start <= date.fromisoformat(first) <= start + timedelta(days=7)
    assert nexus_partitions(start, TODAY)["daily"].get_first_partition_key() == first


def test_a_weekend_or_holiday_release_belongs_to_the_trading_day_before_it():
    daily = trading_day_partitions(date(2024, 1, 2), TODAY)
    assert partition_key_for(date(2024, 6, 29), partitions=daily) == "2024-06-28"  # Saturday
    assert partition_key_for(date(2024, 7, 4), partitions=daily) == "2024-07-03"  # Independence Day
    assert partition_key_for(date(2024, 7, 5), partitions=daily) == "2024-07-05"
    weekly = weekly_partitions_from(date(2024, 1, 2))
    assert weekly.get_first_partition_key() == "2023-12-30"
    assert partition_key_for(date(2024, 6, 24), "weekly", weekly) == "2024-06-22"


def test_a_date_range_spans_the_partitions_inside_it():
    daily = trading_day_partitions(date(2024, 1, 2), TODAY)
    assert keys_spanning(date(2024, 6, 1), date(2024, 6, 30), partitions=daily) == ("2024-06-03", "2024-06-28")
    assert keys_spanning(date(2023, 6, 1), date(2024, 1, 5), partitions=daily) == ("2024-01-02", "2024-01-05")
    assert keys_spanning(date(2024, 6, 29), date(2024, 6, 30), partitions=daily) == ("2024-06-28", "2024-06-28")
    weekly = weekly_partitions_from(date(2024, 1, 2))
    assert keys_spanning(date(2024, 6, 3), date(2024, 6, 28), "weekly", weekly) == ("2024-06-08", "2024-06-22")
