"""The Dagster code location: the one place that assembles assets, checks, jobs, schedules and resources."""

from __future__ import annotations

from dagster import Definitions

from assets.ingest.cboe import cboe_index_closes, cboe_index_closes_quality
from assets.marts.dbt import DBT_PROJECT, nexus_dbt_models
from assets.marts.publish import publish_marts
from pipelines.jobs import daily_ingest_job, marts_job
from pipelines.schedules import daily_ingest_schedule, marts_nightly
from resources.dbt import dbt_resource
from resources.lake.resource import LakeResource
from resources.settings import get_settings

settings = get_settings()

defs = Definitions(
    assets=[cboe_index_closes, nexus_dbt_models, publish_marts],
    asset_checks=[cboe_index_closes_quality],
    jobs=[daily_ingest_job, marts_job],
    schedules=[daily_ingest_schedule, marts_nightly],
    resources={
        "lake": LakeResource(lake_uri=settings.lake_uri),
        "dbt": dbt_resource(DBT_PROJECT),
    },
)
