"""The Dagster code location: the one place that assembles assets, checks, jobs, sensors and resources."""

from functools import cache

from dagster import AssetsDefinition, Definitions, ScheduleDefinition, in_process_executor
from dagster_dbt import DbtProject

from assets.backfill.assets import BACKFILL_ASSETS, SparkBackfillLauncher
from assets.feeds.assets import client_deliveries
from assets.ingest.stage import INGEST_ASSETS, INGEST_CHECKS
from assets.maintenance.assets import lake_maintenance
from assets.marts.dbt import dbt_models
from assets.marts.publish import publish_marts_asset
from assets.marts.reference import reference_tables
from assets.models.assets import evaluation, oos_predictions, regimes
from assets.partitions import CADENCE_TAG
from assets.personas.assets import persona_outputs
from assets.signals.assets import daily_signals, paper_ledger, signals_scorecard
from pipelines.alerting import ALERT_SENSORS
from pipelines.jobs import (
    backfill_job,
    feeds_job,
    ingest_job,
    maintenance_job,
    marts_job,
    models_job,
    personas_job,
    signals_job,
)
from pipelines.sensors import STREAM_INGESTS, STREAM_NAMES, automation_sensor, release_sensor
from resources.dbt import dbt_project, dbt_resource
from resources.lake.resource import LakeResource
from resources.settings import get_settings


def _cadences(ingest_assets: list[AssetsDefinition]) -> list[str]:
    seen = []
    for definition in ingest_assets:
        for spec in definition.specs:
            cadence = spec.tags.get(CADENCE_TAG)
            if cadence and cadence not in seen:
                seen.append(cadence)
    return sorted(seen, key=["daily", "weekly"].index)


def _writers(ingest_assets: list[AssetsDefinition], cadence: str) -> list[str]:
    """The ingest multi-assets of a cadence: each one writes its own bronze and silver tables."""
    return sorted(d.node_def.name for d in ingest_assets if next(iter(d.specs)).tags.get(CADENCE_TAG) == cadence)


def _release_sensors(ingest_assets: list[AssetsDefinition], jobs: dict) -> list:
    """One release sensor per publisher stream, launching the ingest multi-assets that stream refreshes."""
    by_name = {definition.node_def.name: definition for definition in ingest_assets}
    sensors = []
    for stream in STREAM_NAMES:
        targets = []
        for name in STREAM_INGESTS[stream]:
            definition = by_name[name]
            cadence = next(iter(definition.specs)).tags[CADENCE_TAG]
            targets.append((jobs[cadence].name, sorted(definition.keys), cadence))
        sensors.append(release_sensor(stream, targets, [jobs[c] for c in sorted({t[2] for t in targets})]))
    return sensors


CADENCES = _cadences(INGEST_ASSETS)
INGEST_JOBS = {cadence: ingest_job(cadence, _writers(INGEST_ASSETS, cadence)) for cadence in CADENCES}
MAINTENANCE_JOB = maintenance_job([w for cadence in CADENCES for w in _writers(INGEST_ASSETS, cadence)])
# Sunday 04:00 New York: after Friday's COT and the week's last releases, long before Monday's first.
MAINTENANCE_SCHEDULE = ScheduleDefinition(
    name="weekly_maintenance", job=MAINTENANCE_JOB, cron_schedule="0 4 * * 0", execution_timezone="America/New_York"
)


def ingest_stage() -> Definitions:
    """Publishers into bronze and silver: one job per cadence, a release sensor per publisher stream."""
    return Definitions(
        assets=INGEST_ASSETS,
        asset_checks=INGEST_CHECKS,
        jobs=list(INGEST_JOBS.values()),
        sensors=_release_sensors(INGEST_ASSETS, INGEST_JOBS),
    )


def marts_stage(project: DbtProject) -> Definitions:
    """Reference tables, the dbt project's models (from its parsed manifest) and their gold publishing."""
    return Definitions(
        assets=[reference_tables, dbt_models(project), publish_marts_asset(project)],
        jobs=[marts_job],
        resources={"dbt": dbt_resource(project)},
    )


def downstream_stages() -> Definitions:
    """Models, signals, personas and client feeds: each a job of its own, chained by automation."""
    return Definitions(
        assets=[
            regimes,
            oos_predictions,
            evaluation,
            daily_signals,
            paper_ledger,
            signals_scorecard,
            persona_outputs,
            client_deliveries,
        ],
        jobs=[models_job, signals_job, personas_job, feeds_job],
    )


def operations() -> Definitions:
    """Weekly maintenance, Spark backfills, the automation sensor and the alert sensors."""
    return Definitions(
        assets=[lake_maintenance, *BACKFILL_ASSETS],
        jobs=[MAINTENANCE_JOB, *(backfill_job(asset.key.path[-1]) for asset in BACKFILL_ASSETS)],
        schedules=[MAINTENANCE_SCHEDULE],
        sensors=[automation_sensor(), *ALERT_SENSORS],
        resources={"backfill_launcher": SparkBackfillLauncher()},
    )


@cache
def build_definitions() -> Definitions:
    """The code location: every stage's contribution, built when Dagster (or a test) first asks for `defs`.

    Settings are read and the dbt project parsed (only when its manifest is missing or stale) here, not at import.
    """
    settings = get_settings()
    return Definitions.merge(
        ingest_stage(),
        marts_stage(dbt_project()),
        downstream_stages(),
        operations(),
        Definitions(
            # Daemon-launched runs execute their steps in the run's own process: one code load per run instead of
            # one per step (on 2 cores the chain is sequential anyway). `nexus run` executes in process already.
            executor=in_process_executor,
            resources={"lake": LakeResource(lake_uri=settings.lake_uri)},
        ),
    )


def __getattr__(name: str) -> Definitions:
    """`defs` (what workspace.yaml loads) is built on first access: importing this module reads no settings and
    parses nothing."""
    if name == "defs":
        return build_definitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
