"""Freshness checks on every silver table, from its publisher's release calendar plus a margin.

Non-blocking (a late publisher should not stop the rest of the lake) and evaluated every 30 minutes by the
automation sensor, so the UI shows each table's state and an operator sees a late publisher as a failed check.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AutomationCondition,
    DagsterInstance,
    PartitionsDefinition,
    asset_check,
)

from assets.ingest.cboe import CBOE
from assets.ingest.coinmetrics import COINMETRICS
from assets.ingest.cot import COT
from assets.ingest.eia import EIA_DAILY, EIA_WEEKLY
from assets.ingest.factory import SourceIngest, silver_key
from assets.ingest.fred import FRED
from assets.partitions import Cadence, configured_partitions, partition_key_for
from resources.freshness import MARGIN, Freshness, snapshot_freshness
from resources.releases import streams_of
from resources.settings_resource import SettingsResource
from resources.simulated.clock import freshness_now

EVERY_HALF_HOUR = AutomationCondition.cron_tick_passed("*/30 * * * *", "America/New_York") & ~(
    AutomationCondition.in_progress()
)


def freshness_check_shape(name: str, description: str) -> dict[str, Any]:
    """What every freshness check declares (silver's, dbt source freshness, the marts'), as keyword arguments of
    `asset_check` or `AssetCheckSpec`: non-blocking (a late publisher warns and never stops the chain) and evaluated
    every half hour by declarative automation."""
    return {"name": name, "blocking": False, "automation_condition": EVERY_HALF_HOUR, "description": description}


@dataclass(frozen=True)
class SilverCalendar:
    """Which release streams feed a silver table, and the cadence of its as-of partitions."""

    streams: tuple[str, ...]
    cadence: Cadence


def silver_freshness(
    instance: DagsterInstance, key: AssetKey, calendar: SilverCalendar, now: datetime, partitions: PartitionsDefinition
) -> Freshness:
    """Does the table's newest materialized partition (of `partitions`, the calendar's cadence) hold the newest
    release due by `now`?"""
    event = instance.get_latest_materialization_event(key)
    latest = event.asset_materialization.partition if event and event.asset_materialization else None
    return snapshot_freshness(
        calendar.streams, latest, lambda day: partition_key_for(day, calendar.cadence, partitions), now
    )


def _freshness_check(key: AssetKey, streams: tuple[str, ...], cadence: Cadence) -> AssetChecksDefinition:
    @asset_check(
        asset=key,
        **freshness_check_shape(
            "fresh_per_release_calendar",
            f"Holds the newest {' / '.join(streams)} release due by now (release calendar, America/New_York, "
            f"+ {MARGIN}); fails when the publisher or the ingest is late.",
        ),
    )
    def _check(context: AssetCheckExecutionContext, settings: SettingsResource) -> AssetCheckResult:
        event = context.instance.get_latest_materialization_event(key)
        latest = event.asset_materialization.partition if event and event.asset_materialization else None
        now = freshness_now(settings.get())
        partitions = configured_partitions(settings.get())[cadence]
        verdict = silver_freshness(context.instance, key, SilverCalendar(streams, cadence), now, partitions)
        return AssetCheckResult(
            passed=verdict.passed,
            severity=AssetCheckSeverity.WARN,
            description=verdict.description,
            metadata={
                "latest_partition": latest or "",
                "expected_release": verdict.expected.at.isoformat() if verdict.expected else "",
                "checked_at": now.isoformat(),
            },
        )

    return _check


def _freshness_checks(decl: SourceIngest) -> list[AssetChecksDefinition]:
    streams = streams_of(decl.name or f"{decl.source}_ingest")
    return [_freshness_check(silver_key(s.spec), streams, decl.cadence) for s in decl.silver]


SOURCES = (CBOE, COINMETRICS, COT, EIA_DAILY, EIA_WEEKLY, FRED)
FRESHNESS_CHECKS = [c for decl in SOURCES for c in _freshness_checks(decl)]

SILVER_CALENDARS: dict[AssetKey, SilverCalendar] = {
    silver_key(s.spec): SilverCalendar(streams_of(decl.name or f"{decl.source}_ingest"), decl.cadence)
    for decl in SOURCES
    for s in decl.silver
}
"""The publisher-fed silver tables and the release streams that feed them (the marts' freshness reads it)."""
