"""dbt source freshness as a check on every silver table the marts read, judged at the publishers' now.

One multi-asset check (one dbt process for all sources), non-blocking, evaluated every 30 minutes by the
automation sensor and kept out of the ingest jobs (a release's ingest never waits for dbt). Each silver table's
result says what dbt found (its newest `available_at`, dbt's status against the `freshness` thresholds in
sources.yml) and whether that holds the newest release its publishers' calendars made due (+ margin).
"""

from collections.abc import Iterator, Mapping
from datetime import datetime

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from assets.ingest.freshness import SilverCalendar, freshness_check_shape
from resources.dbt_freshness import SourceFreshness, dbt_source_freshness
from resources.freshness import MARGIN, held_freshness
from resources.settings_resource import SettingsResource
from resources.simulated.clock import freshness_now

CHECK_NAME = "dbt_source_freshness"
DBT_FAILED = ("error", "runtime error")


def dbt_source_name(key: AssetKey) -> str:
    """The dbt source of a silver table: `silver/<source>/<table>` is `source('<source>', '<table>')`."""
    return ".".join(key.path[1:])


def source_verdict(
    key: AssetKey, calendar: SilverCalendar, found: SourceFreshness | None, now: datetime
) -> AssetCheckResult:
    """Fresh when dbt read the table, dbt's thresholds are not in error and it holds the newest release due."""
    if found is None:
        return AssetCheckResult(
            asset_key=key, check_name=CHECK_NAME, passed=False, description="dbt reported no result for this source"
        )
    held = held_freshness(calendar.streams, found.max_loaded_at, now)
    passed = held.passed and found.status not in DBT_FAILED
    return AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=f"dbt: {found.status}; calendar: {held.description}",
        metadata={
            "dbt_status": found.status,
            "max_available_at": found.max_loaded_at.isoformat() if found.max_loaded_at else "",
            "expected_release": held.expected.at.isoformat() if held.expected else "",
            "checked_at": now.isoformat(),
        },
    )


def dbt_source_freshness_check(calendars: Mapping[AssetKey, SilverCalendar]) -> AssetChecksDefinition:
    """The check over every publisher-fed silver table (each one a dbt source)."""
    specs = [
        AssetCheckSpec(
            asset=key,
            **freshness_check_shape(
                CHECK_NAME,
                f"`dbt source freshness` of source {dbt_source_name(key)} (loaded_at_field available_at), judged at "
                f"the publishers' now: holds the newest {' / '.join(calendars[key].streams)} release due (+ {MARGIN}).",
            ),
        )
        for key in sorted(calendars, key=lambda k: k.to_user_string())
    ]

    # subsettable: a silver table materialized alone in the UI brings its own check along (dbt still runs once)
    @multi_asset_check(specs=specs, can_subset=True, name="dbt_source_freshness")
    def _dbt_source_freshness(
        context: AssetCheckExecutionContext, settings: SettingsResource
    ) -> Iterator[AssetCheckResult]:
        now = freshness_now(settings.get())
        found = dbt_source_freshness(settings.get(), now)
        for key in sorted({k.asset_key for k in context.selected_asset_check_keys}, key=lambda k: k.to_user_string()):
            yield source_verdict(key, calendars[key], found.get(dbt_source_name(key)), now)

    return _dbt_source_freshness
