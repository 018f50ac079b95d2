"""The Dagster code location: the one place that assembles assets, checks, jobs, schedules and resources."""

import importlib
import pkgutil

from dagster import AssetChecksDefinition, AssetsDefinition, Definitions

import assets.ingest
from assets.feeds.assets import client_deliveries
from assets.marts.dbt import DBT_PROJECT, nexus_dbt_models
from assets.marts.publish import publish_marts
from assets.marts.reference import reference_tables
from assets.models.assets import evaluation, oos_predictions, regimes
from assets.personas.assets import persona_outputs
from assets.signals.assets import daily_signals, paper_ledger, signals_scorecard
from pipelines.jobs import feeds_job, ingest_job, marts_job, models_job, personas_job, signals_job
from pipelines.partitions import CADENCE_TAG
from pipelines.schedules import DOWNSTREAM_SCHEDULES, ingest_schedules
from resources.dbt import dbt_resource
from resources.lake.resource import LakeResource
from resources.settings import get_settings


def _discover_ingest() -> tuple[list[AssetsDefinition], list[AssetChecksDefinition]]:
    """Every source module in assets/ingest contributes its multi-asset and checks (a new source needs no edit here)."""
    found_assets: list[AssetsDefinition] = []
    found_checks: list[AssetChecksDefinition] = []
    for info in sorted(pkgutil.iter_modules(assets.ingest.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"assets.ingest.{info.name}")
        for value in vars(module).values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, AssetChecksDefinition) and item not in found_checks:
                    found_checks.append(item)
                elif isinstance(item, AssetsDefinition) and item not in found_assets:
                    found_assets.append(item)
    return found_assets, found_checks


def _cadences(ingest_assets: list[AssetsDefinition]) -> list[str]:
    seen = []
    for definition in ingest_assets:
        for spec in definition.specs:
            cadence = spec.tags.get(CADENCE_TAG)
            if cadence and cadence not in seen:
                seen.append(cadence)
    return sorted(seen, key=["daily", "weekly"].index)


settings = get_settings()
INGEST_ASSETS, INGEST_CHECKS = _discover_ingest()
CADENCES = _cadences(INGEST_ASSETS)
INGEST_JOBS = {cadence: ingest_job(cadence) for cadence in CADENCES}

defs = Definitions(
    assets=[
        *INGEST_ASSETS,
        reference_tables,
        nexus_dbt_models,
        publish_marts,
        regimes,
        oos_predictions,
        evaluation,
        daily_signals,
        paper_ledger,
        signals_scorecard,
        persona_outputs,
        client_deliveries,
    ],
    asset_checks=INGEST_CHECKS,
    jobs=[*INGEST_JOBS.values(), marts_job, models_job, signals_job, personas_job, feeds_job],
    schedules=[*ingest_schedules(INGEST_JOBS), *DOWNSTREAM_SCHEDULES],
    resources={
        "lake": LakeResource(lake_uri=settings.lake_uri),
        "dbt": dbt_resource(DBT_PROJECT),
    },
)
