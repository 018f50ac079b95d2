"""Partitions of the ingest and decision-day assets, and how a run turns its partitions into an as-of date.

Partitions are New York business days (NYSE trading days) from the lake's configured start (NEXUS_START_DATE), so
the catalog shows the days the lake is about: no weekends, no exchange holidays, nothing before the history starts.

- daily (Cboe, FRED, Coin Metrics, EIA daily prices; signals, personas, feeds): one partition per trading day. A
  partition's window runs to the next trading day, so releases on a weekend or holiday (Coin Metrics publishes
  every day) belong to the trading day before them.
- weekly (COT, EIA weekly reports): weeks from Saturday to Friday, so each week holds that week's EIA releases
  (Wednesday, Thursday) and the Friday COT release.

Ingest partition D is materialized once the lake holds everything the publishers had released by the end of D's
window: every silver row carries `available_at`, so one load as of day E serves every partition up to E. A release
loads its own partition; `nexus run` loads the partition of its end date (as of that day) and leaves the earlier
ones empty: marking every partition since the lake's start would store ~50,000 events on SQLite for ten years. The
asset descriptions say so (`AS_OF_PARTITION_MEANING`), so an empty earlier partition does not read as missing data.
end_offset=1 makes the current day or week available as soon as it starts. A run may narrow the as-of date with
the `nexus/as_of` tag (a release's day, or `nexus run --end`).

Nothing here reads the settings at import: the asset modules declare `DECLARED` partitions (from the settings'
default lake start), and `pipelines/definitions.py` binds every asset to the partitions of the configured start
(`configured_partitions`, `bind_partitions`) when it builds the definitions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

from resources.reference import calendar_end
from resources.settings import Settings

# Dagster's run tags for a single run over a partition range (documented tag names).
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
AS_OF_TAG = "nexus/as_of"
CADENCE_TAG = "nexus/cadence"

Cadence = Literal["daily", "weekly"]
NEW_YORK = "America/New_York"
FMT = "%Y-%m-%d"
WEEKDAYS = "0 0 * * 1-5"


def nyse_holidays(first: date, last: date) -> list[date]:
    """Weekdays the NYSE is closed between `first` and `last`."""
    closed = holidays.financial_holidays("NYSE", years=range(first.year, last.year + 1))
    return sorted(d for d in closed if first <= d <= last and d.weekday() < 5)


def trading_day_partitions(start: date, today: date) -> TimeWindowPartitionsDefinition:
    """One partition per NYSE trading day from `start` (holidays listed through the calendar's end)."""
    closed = nyse_holidays(start, calendar_end(start, today))
    return TimeWindowPartitionsDefinition(
        start=start.strftime(FMT),
        fmt=FMT,
        cron_schedule=WEEKDAYS,
        timezone=NEW_YORK,
        end_offset=1,
        exclusions=[datetime.combine(d, time()) for d in closed] or None,
    )


def weekly_partitions_from(start: date) -> WeeklyPartitionsDefinition:
    """Saturday-to-Friday weeks from the week containing `start` (day_offset=6: weeks start on Saturday)."""
    return WeeklyPartitionsDefinition(
        start_date=(start - timedelta(days=(start.weekday() - 5) % 7)).isoformat(),
        day_offset=6,
        end_offset=1,
        timezone=NEW_YORK,
        fmt=FMT,
    )


@cache
def nexus_partitions(start: date, today: date) -> dict[Cadence, PartitionsDefinition]:
    return {"daily": trading_day_partitions(start, today), "weekly": weekly_partitions_from(start)}


AS_OF_PARTITION_MEANING: dict[Cadence, str] = {
    "daily": (
        "Partitions are as-of snapshots, not slices: partition D (an NYSE trading day, New York) materialized means "
        "the table holds every row the publisher had released by the end of D, weekend or holiday after it "
        "included. One materialized partition covers every day before it, so earlier partitions stay empty by "
        "design; the newest materialized partition is how current the table is."
    ),
    "weekly": (
        "Partitions are as-of snapshots, not slices: partition W (the Saturday-to-Friday week starting W, New "
        "York) materialized means the table holds every row the publisher had released by the end of that week "
        "(or by the run's as-of day within it). One materialized partition covers every week before it, so "
        "earlier partitions stay empty by design; the newest materialized partition is how current the table is."
    ),
}
"""What one ingest partition means, appended to every bronze and silver asset's description (the catalog's words)."""

DECISION_DAY_PARTITION_MEANING = (
    "One partition is one decision day D (an NYSE trading day, New York), built only from what was known at D's "
    "decision time."
)
"""What one signals, personas or feeds partition means, appended to their descriptions."""


def configured_partitions(settings: Settings, today: date | None = None) -> dict[Cadence, PartitionsDefinition]:
    """The partitions of the configured lake start (NEXUS_START_DATE), through `today` (default: now, UTC)."""
    return nexus_partitions(settings.start_date, today or datetime.now(UTC).date())


DEFAULT_LAKE_START: date = Settings.model_fields["start_date"].default
"""The settings' default lake start (a class default: no environment is read)."""

DECLARED: dict[Cadence, PartitionsDefinition] = nexus_partitions(DEFAULT_LAKE_START, datetime.now(UTC).date())
"""What the asset modules declare; `bind_partitions` swaps them for the configured ones when definitions are built."""
daily_partitions = DECLARED["daily"]
weekly_partitions = DECLARED["weekly"]


def cadence_of(partitions_def: PartitionsDefinition) -> Cadence:
    """Daily (trading days) or weekly (Saturday-to-Friday weeks): which Nexus partitions these are."""
    assert isinstance(partitions_def, TimeWindowPartitionsDefinition), partitions_def
    return "daily" if partitions_def.cron_schedule == WEEKDAYS else "weekly"


def bind_partitions(assets_def: AssetsDefinition, partitions: dict[Cadence, PartitionsDefinition]) -> AssetsDefinition:
    """The same asset with each partitioned spec on `partitions` of its cadence (unpartitioned specs untouched)."""

    def bound(spec: AssetSpec) -> AssetSpec:
        if spec.partitions_def is None:
            return spec
        return spec.replace_attributes(partitions_def=partitions[cadence_of(spec.partitions_def)])

    if all(spec.partitions_def is None for spec in assets_def.specs):
        return assets_def
    return assets_def.map_asset_specs(bound)


def _noon(day: date) -> float:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(NEW_YORK)).timestamp()


def partition_key_for(day: date, cadence: Cadence, partitions: PartitionsDefinition) -> str:
    """The key of the `cadence` partition of `partitions` (the caller's: the configured lake start's, see
    configured_partitions) whose window contains `day` (a weekend or holiday: the trading day before it)."""
    assert isinstance(partitions, TimeWindowPartitionsDefinition) and cadence_of(partitions) == cadence
    return partitions.get_partition_key_for_timestamp(_noon(day))


def keys_spanning(first: date, last: date, cadence: Cadence, partitions: PartitionsDefinition) -> tuple[str, str]:
    """(first key, last key) of the `cadence` partitions (the caller's) from the first one starting on or after
    `first` through the one containing `last`; before the partitions begin, from their first key."""
    partitions_def = partitions
    assert isinstance(partitions_def, TimeWindowPartitionsDefinition)
    last_key = partition_key_for(last, cadence, partitions_def)
    first_partition = partitions_def.get_first_partition_key()
    assert first_partition is not None
    if first <= partitions_def.time_window_for_partition_key(first_partition).start.date():
        return first_partition, last_key
    first_key = partition_key_for(first, cadence, partitions_def)
    if partitions_def.time_window_for_partition_key(first_key).start.date() < first:
        first_key = partitions_def.get_next_partition_key(first_key) or last_key
    return min(first_key, last_key), last_key


def range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """Run tags that make one run materialize the partitions first_key..last_key (single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first_key, ASSET_PARTITION_RANGE_END_TAG: last_key}


def as_of_tags(day: date) -> dict[str, str]:
    return {AS_OF_TAG: day.isoformat()}


def _last_day_before_next(context: AssetExecutionContext, end: date) -> date:
    """The day before the next partition starts; Dagster's window of a trading day ends at an excluded holiday."""
    partitions_def = context.assets_def.partitions_def
    if isinstance(partitions_def, TimeWindowPartitionsDefinition) and partitions_def.exclusions:
        closed = set(nyse_holidays(end, end + timedelta(days=7)))
        while end in closed or end.weekday() >= 5:
            end += timedelta(days=1)
    return end - timedelta(days=1)


def window_of(
    context: AssetExecutionContext, *, as_of: bool = False, end_date: date | None = None, live: bool = False
) -> tuple[date | None, date]:
    """(first day, last day) of this materialization; the settings it needs are passed in.

    Decision-day assets (signals, personas, feeds) get their trading days: the first and last partition keys.
    Ingest (`as_of=True`) gets the as-of day: the last day before the next partition starts (a trading day's
    window reaches over the weekend or holiday after it), narrowed by the run's `nexus/as_of` tag, and never later
    than today when `live` (a live publisher cannot show tomorrow). An unpartitioned run ends on `end_date`
    (NEXUS_END_DATE), which it must be given.
    """
    if not (context.has_partition_key_range or context.has_partition_key):
        if end_date is None:
            raise ValueError(f"{context.op_def.name}: an unpartitioned run needs its end date passed to window_of")
        return None, end_date
    window = context.partition_time_window
    first = window.start.date()
    if not as_of:
        partitions_def = context.assets_def.partitions_def
        daily = partitions_def is not None and cadence_of(partitions_def) == "daily"
        last_key = context.partition_key_range.end
        last = date.fromisoformat(last_key) if daily else (window.end - timedelta(days=1)).date()
        return first, last
    last = _last_day_before_next(context, window.end.date())
    tag = context.run.tags.get(AS_OF_TAG)
    if tag:
        last = min(last, date.fromisoformat(tag))
    if live:
        last = min(last, datetime.now(UTC).date())
    return first, last
