"""The catalog tells the truth: partitions are NYSE trading days from the lake's start, weekends and holidays fold
into the trading day before them, and one `nexus run` range covers every partition it loaded."""

import os
import subprocess
import sys
from datetime import date

from dagster import PartitionKeyRange

from assets.partitions import (
    configured_partitions,
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
    from pipelines.definitions import build_definitions

    settings = get_settings().model_copy(update={"start_date": date(2023, 3, 1)})
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    starts = {
        key.to_user_string(): graph.get(key).partitions_def.get_first_partition_key()  # type: ignore[union-attr]
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }
    assert starts["silver/cboe/index_closes"] == "2023-03-01"  # a Wednesday
    assert starts["silver/cot/legacy_positions"] == "2023-02-25"  # the Saturday week holding it
    assert starts["gold/signals/daily"] == "2023-03-01"
    assert set(starts.values()) == {"2023-03-01", "2023-02-25"}, starts
    for job in ("daily_ingest_job", "signals_job", "feeds_job"):
        assert defs.resolve_job_def(job).partitions_def.get_first_partition_key() == "2023-03-01"  # type: ignore[union-attr]
    assert defs.resolve_job_def("weekly_ingest_job").partitions_def.get_first_partition_key() == "2023-02-25"  # type: ignore[union-attr]
    assert configured_partitions(settings, TODAY) == nexus_partitions(date(2023, 3, 1), TODAY)


def test_the_partitioned_asset_modules_read_no_settings_at_import():
    """Unreadable settings break `get_settings()`; importing the modules that declare partitions must not call it."""
    modules = "assets.partitions, assets.ingest.stage, assets.signals.assets, assets.personas.assets"
    modules += ", assets.feeds.assets"
    stages = ("ingest", "marts", "backfill", "models", "signals", "personas", "feeds", "maintenance")
    modules += "".join(f", assets.{stage}.definitions" for stage in stages)
    env = {**os.environ, "NEXUS_START_DATE": "not-a-date"}
    probe = f"import {modules}; from resources.settings import get_settings; print(get_settings.cache_info().misses)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"


def test_a_weekend_or_holiday_release_belongs_to_the_trading_day_before_it():
    daily = trading_day_partitions(date(2024, 1, 2), TODAY)
    assert partition_key_for(date(2024, 6, 29), "daily", daily) == "2024-06-28"  # Saturday
    assert partition_key_for(date(2024, 7, 4), "daily", daily) == "2024-07-03"  # Independence Day
    assert partition_key_for(date(2024, 7, 5), "daily", daily) == "2024-07-05"
    weekly = weekly_partitions_from(date(2024, 1, 2))
    assert weekly.get_first_partition_key() == "2023-12-30"
    assert partition_key_for(date(2024, 6, 24), "weekly", weekly) == "2024-06-22"


def test_a_date_range_spans_the_partitions_inside_it():
    daily = trading_day_partitions(date(2024, 1, 2), TODAY)
    assert keys_spanning(date(2024, 6, 1), date(2024, 6, 30), "daily", daily) == ("2024-06-03", "2024-06-28")
    assert keys_spanning(date(2023, 6, 1), date(2024, 1, 5), "daily", daily) == ("2024-01-02", "2024-01-05")
    assert keys_spanning(date(2024, 6, 29), date(2024, 6, 30), "daily", daily) == ("2024-06-28", "2024-06-28")
    weekly = weekly_partitions_from(date(2024, 1, 2))
    assert keys_spanning(date(2024, 6, 3), date(2024, 6, 28), "weekly", weekly) == ("2024-06-08", "2024-06-22")
