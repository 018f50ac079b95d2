"""Partitions of the ingest assets, and how a run turns its partition into an as-of date.

Ingest partitions are as-of snapshots: partition P is the publishers' state at the end of P's last day (their
files and APIs as they stood then), loaded for the lake's history window [NEXUS_START_DATE, as-of]. One partition
therefore holds a full, point-in-time-correct history; the release sensors add the newest one, and a backfill replays
how the data looked on past days (exactly in simulated mode; live publishers only serve today's state).

- daily (Cboe, FRED, Coin Metrics, EIA daily prices): one partition per calendar day;
- weekly (COT, EIA weekly reports): weeks from Saturday to Friday, so each week holds that week's EIA releases
  (Wednesday, Thursday) and the Friday COT release.
Windows are New York days (the publishers' and the decision day's calendar), so an evening run at 20:00 ET is
still day D although UTC has moved on. end_offset=1 makes the current day or week available as soon as it starts.
A run may narrow the as-of date with the `nexus/as_of` tag (what `nexus run --end` does for weekly partitions).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from dagster import AssetExecutionContext, DailyPartitionsDefinition, PartitionsDefinition, WeeklyPartitionsDefinition

from resources.settings import get_settings

# Dagster's run tags for a single run over a partition range (documented tag names).
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
AS_OF_TAG = "nexus/as_of"
CADENCE_TAG = "nexus/cadence"

Cadence = Literal["daily", "weekly"]
_START = get_settings().partitions_start

NEW_YORK = "America/New_York"
daily_partitions = DailyPartitionsDefinition(
    start_date=_START.isoformat(), end_offset=1, fmt="%Y-%m-%d", timezone=NEW_YORK
)
# day_offset=6: weeks start on Saturday.
weekly_partitions = WeeklyPartitionsDefinition(
    start_date=(_START - timedelta(days=(_START.weekday() - 5) % 7)).isoformat(),
    day_offset=6,
    end_offset=1,
    timezone=NEW_YORK,
    fmt="%Y-%m-%d",
)
PARTITIONS: dict[Cadence, PartitionsDefinition] = {"daily": daily_partitions, "weekly": weekly_partitions}


def partition_key_for(day: date, cadence: Cadence = "daily") -> str:
    """The key of the partition whose window contains `day`."""
    if cadence == "daily":
        return day.strftime("%Y-%m-%d")
    start = day - timedelta(days=(day.weekday() - 5) % 7)  # the Saturday on or before `day`
    return start.strftime("%Y-%m-%d")


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run materialize the partitions start..end (single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: start.isoformat(), ASSET_PARTITION_RANGE_END_TAG: end.isoformat()}


def as_of_tags(day: date) -> dict[str, str]:
    return {AS_OF_TAG: day.isoformat()}


def window_of(context: AssetExecutionContext) -> tuple[date | None, date]:
    """(first day, as-of day) of this materialization.

    The as-of day is the partition window's last day, narrowed by the run's `nexus/as_of` tag, and never later
    than today in live mode (a live publisher cannot show tomorrow). Unpartitioned runs use NEXUS_END_DATE.
    """
    settings = get_settings()
    if not (context.has_partition_key_range or context.has_partition_key):
        return None, settings.end_date
    window = context.partition_time_window
    first, last = window.start.date(), (window.end - timedelta(days=1)).date()
    tag = context.run.tags.get(AS_OF_TAG)
    if tag:
        last = min(last, date.fromisoformat(tag))
    if settings.source_mode == "live":
        last = min(last, datetime.now(UTC).date())
    return first, last
