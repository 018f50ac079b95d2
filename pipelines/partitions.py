"""Partitions shared by the assets: daily for daily publishers (Cboe), weekly ones are added by their sources."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition

from resources.settings import get_settings

# Dagster's run tags for a single run over a partition range (documented tag names).
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

# Partitions of ingest assets are as-of snapshots: partition D is the publisher's state at the end of D (its
# files and APIs as they stood then), loaded for the lake's history window [NEXUS_START_DATE, D]. So one
# partition holds a full, point-in-time-correct history, the nightly schedule adds today's, and a backfill
# replays how the data looked on past days (exactly in simulated mode; live publishers only serve today).
# end_offset=1: today's partition exists once the day starts, so the evening schedule can load today's close.
daily_partitions = DailyPartitionsDefinition(
    start_date=get_settings().partitions_start.isoformat(), end_offset=1, fmt="%Y-%m-%d"
)


def partition_key_for(day: date) -> str:
    """The daily partition key holding the state of `day`."""
    return day.strftime("%Y-%m-%d")


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run materialize the partitions start..end (single-run backfill)."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
    }


def window_of(context: AssetExecutionContext) -> tuple[date | None, date]:
    """(first, last) date covered by this materialization; unpartitioned runs cover up to the default end."""
    if context.has_partition_key_range or context.has_partition_key:
        window = context.partition_time_window
        return window.start.date(), (window.end - timedelta(days=1)).date()
    return None, get_settings().end_date
