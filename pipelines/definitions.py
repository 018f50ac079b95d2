"""The code location: each stage contributes its own `Definitions` (assets/<stage>/definitions.py), merged here with
the wiring (jobs, schedules, sensors, executor, shared resources).

Nothing is built at import: `defs` (what workspace.yaml loads) and `MART_FRESHNESS` are made on first access, which
is when the settings are read and the dbt project is parsed (only if its manifest is missing or stale).
"""

from functools import cache

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    Definitions,
    PartitionsDefinition,
    ScheduleDefinition,
    in_process_executor,
)

from assets.automation import bind_publisher_clock
from assets.backfill.assets import BACKFILL_ASSETS
from assets.backfill.definitions import backfill_definitions
from assets.feeds.definitions import feeds_definitions
from assets.ingest.definitions import ingest_definitions
from assets.ingest.stage import INGEST_ASSETS, INGEST_CHECKS
from assets.maintenance.definitions import maintenance_definitions
from assets.marts.definitions import mart_freshness, marts_definitions, source_freshness
from assets.models.definitions import models_definitions
from assets.partitions import CADENCE_TAG, Cadence, configured_partitions
from assets.personas.definitions import personas_definitions
from assets.signals.definitions import signals_definitions
from pipelines.alerting import ALERT_SENSORS
from pipelines.jobs import backfill_job, daily_jobs, ingest_job, maintenance_job, marts_job, models_job
from pipelines.sensors import STREAM_INGESTS, STREAM_NAMES, automation_sensor, release_sensor
from resources.dbt import dbt_project, dbt_resource
from resources.lake.resource import LakeResource
from resources.settings import Settings, get_settings
from resources.settings_resource import SettingsResource


def _cadences(ingest_assets: list[AssetsDefinition]) -> list[Cadence]:
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


def _release_checks() -> dict[AssetKey, list[AssetCheckKey]]:
    """The checks a release's ingest runs with: each silver table's quality suite and calendar freshness (the
    half-hourly dbt source freshness stays out)."""
    found: dict[AssetKey, list[AssetCheckKey]] = {}
    for checks in INGEST_CHECKS:
        for key in checks.check_keys:
            found.setdefault(key.asset_key, []).append(key)
    return found


def _release_sensors(
    ingest_assets: list[AssetsDefinition],
    jobs: dict,
    partitions: dict[Cadence, PartitionsDefinition],
    interval_s: int,
) -> list:
    """One release sensor per publisher stream, launching the ingest multi-assets that stream refreshes."""
    by_name = {definition.node_def.name: definition for definition in ingest_assets}
    sensors = []
    for stream in STREAM_NAMES:
        targets = []
        for name in STREAM_INGESTS[stream]:
            definition = by_name[name]
            cadence = next(iter(definition.specs)).tags[CADENCE_TAG]
            targets.append((jobs[cadence].name, sorted(definition.keys), cadence))
        cadences = sorted({t[2] for t in targets})
        sensors.append(
            release_sensor(
                stream, targets, [jobs[c] for c in cadences], partitions, _release_checks(), interval_s=interval_s
            )
        )
    return sensors


CADENCES = _cadences(INGEST_ASSETS)
SOURCE_FRESHNESS = source_freshness()
MAINTENANCE_JOB = maintenance_job([w for cadence in CADENCES for w in _writers(INGEST_ASSETS, cadence)])
# Sunday 04:00 New York: after Friday's COT and the week's last releases, long before Monday's first.
MAINTENANCE_SCHEDULE = ScheduleDefinition(
    name="weekly_maintenance", job=MAINTENANCE_JOB, cron_schedule="0 4 * * 0", execution_timezone="America/New_York"
)


def ingest_jobs(partitions: dict[Cadence, PartitionsDefinition]) -> dict:
    """One ingest job per cadence, over that cadence's partitions."""
    return {c: ingest_job(c, _writers(INGEST_ASSETS, c), partitions[c], [SOURCE_FRESHNESS]) for c in CADENCES}


# Every stage's part, in the order data flows; each binds its partitioned assets to the configured partitions.
STAGES = (
    ingest_definitions,
    marts_definitions,
    backfill_definitions,
    models_definitions,
    signals_definitions,
    personas_definitions,
    feeds_definitions,
    maintenance_definitions,
)


def wiring_definitions(settings: Settings, partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """What runs the stages: jobs, the maintenance schedule, release/automation/alert sensors, the executor and
    the resources every stage shares (the lake, dbt, and the settings their bodies take instead of reading them)."""
    jobs = ingest_jobs(partitions)
    return Definitions(
        jobs=[
            *jobs.values(),
            marts_job([mart_freshness()]),
            models_job,
            *daily_jobs(partitions["daily"]),
            MAINTENANCE_JOB,
            *(backfill_job(asset.key.path[-1]) for asset in BACKFILL_ASSETS),
        ],
        schedules=[MAINTENANCE_SCHEDULE],
        sensors=[
            *_release_sensors(INGEST_ASSETS, jobs, partitions, settings.release_sensor_interval_s),
            automation_sensor(settings.automation_interval_s),
            *ALERT_SENSORS,
        ],
        # Daemon-launched runs execute their steps in the run's own process: one code load per run instead of one
        # per step (on 2 cores the chain is sequential anyway). `nexus run` executes in process already.
        executor=in_process_executor,
        resources={
            "lake": LakeResource.from_settings(settings),
            "dbt": dbt_resource(dbt_project(settings)),
            "settings": SettingsResource.from_settings(settings),
        },
    )


def build_definitions(settings: Settings) -> Definitions:
    """The code location for `settings`: every stage's assets and checks on the partitions of the configured lake
    start (the asset modules only declare placeholders; see assets/partitions.py), merged with the wiring, the
    release-batch gate reading the publishers' clock of `settings` (assets/automation.py)."""
    partitions = configured_partitions(settings)
    dbt_project(settings)  # the manifest parsed (if missing or stale) with these settings, before the marts read it
    stages = [stage(partitions) for stage in STAGES]
    return bind_publisher_clock(Definitions.merge(*stages, wiring_definitions(settings, partitions)), settings)


@cache
def _configured_definitions() -> Definitions:
    return build_definitions(get_settings())  # the code location's edge: the settings are read here, once


def __getattr__(name: str) -> object:
    """`defs` and `MART_FRESHNESS` are built on first access: importing this module reads no settings and parses
    no dbt project."""
    if name == "defs":
        return _configured_definitions()
    if name == "MART_FRESHNESS":
        _configured_definitions()  # parses the dbt project the checks are built from
        return mart_freshness()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
