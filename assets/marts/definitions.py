"""The marts stage's part of the code location: reference tables, the dbt models, their gold copies and the
freshness checks of silver (dbt source freshness) and of the marts.

The dbt assets come from the project's manifest, so they are built on first call (after the code location's build
parsed it if missing or stale), never at import; each is built once per process and shared with the jobs that
select its checks.
"""

from __future__ import annotations

from functools import cache

from dagster import AssetChecksDefinition, AssetsDefinition, Definitions, PartitionsDefinition

from assets.ingest.freshness import SILVER_CALENDARS
from assets.marts.dbt import dbt_models
from assets.marts.freshness import mart_freshness_checks
from assets.marts.publish import publish_marts_asset
from assets.marts.reference import reference_tables
from assets.marts.source_freshness import dbt_source_freshness_check
from assets.partitions import Cadence, bind_partitions
from resources.dbt import parsed_dbt_project


@cache
def mart_assets() -> tuple[AssetsDefinition, AssetsDefinition]:
    """The dbt models and their gold publishing, from the dbt project's manifest (which the code location's build
    parsed first, with its settings, if missing or stale)."""
    project = parsed_dbt_project()
    return dbt_models(project), publish_marts_asset(project)


@cache
def mart_freshness() -> AssetChecksDefinition:
    """`fresh_per_release_calendar` on every mart that reads a publisher's table (half-hourly, non-blocking)."""
    return mart_freshness_checks(list(mart_assets()), SILVER_CALENDARS)


@cache
def source_freshness() -> AssetChecksDefinition:
    """dbt source freshness over every publisher-fed silver table (half-hourly, non-blocking)."""
    return dbt_source_freshness_check(SILVER_CALENDARS)


def marts_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """The marts stage on `partitions`, with dbt's tests (in the dbt assets) and both freshness checks."""
    assets = [reference_tables, *mart_assets()]
    return Definitions(
        assets=[bind_partitions(a, partitions) for a in assets],
        asset_checks=[source_freshness(), mart_freshness()],
    )
