"""Build a source's ingest assets from a declaration: bronze and silver specs, a cadence and an ingest function.

Every source gets the same shape in the asset graph: one multi-asset (bronze payloads + silver tables, as-of
partitioned, single-run backfills) and one blocking Great Expectations check per silver table.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    asset_check,
    multi_asset,
)

from assets.ingest.reporting import bronze_metadata, quality_check_result, silver_metadata
from assets.partitions import AS_OF_PARTITION_MEANING, CADENCE_TAG, DECLARED, Cadence, window_of
from assets.retries import transient_faults_retried
from assets.skips import Window, skip_probe
from resources.lake.as_of import record_as_of
from resources.lake.provenance import record_mode
from resources.lake.resource import LakeResource
from resources.lake.stage_state import (
    SKIPPED,
    StageFingerprint,
    StageRecord,
    code_hash,
    config_hash,
    record_run,
    unchanged,
)
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.lake.write_lock import pool_for, source_write_lock
from resources.quality.suites import SilverSuite
from resources.settings import Settings
from resources.settings_resource import SettingsResource
from resources.sources.base import IngestReport

# run(storage, settings, run_id=..., start=..., end=...) -> one report per silver table written
IngestFn = Callable[..., list[IngestReport]]


@dataclass(frozen=True)
class BronzeAsset:
    name: str
    description: str
    datasets: frozenset[str] | None = None  # bronze datasets this asset covers (None: all of the source's)


@dataclass(frozen=True)
class SilverAsset:
    spec: TableSpec
    suite: SilverSuite


@dataclass(frozen=True)
class SourceIngest:
    source: str
    cadence: Cadence
    bronze: Sequence[BronzeAsset]
    silver: Sequence[SilverAsset]
    run: IngestFn
    description: str
    extra_tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # multi-asset name, when a source declares several cadences (default <source>_ingest)


def bronze_key(source: str, name: str) -> AssetKey:
    return AssetKey(["bronze", source, name])


def silver_key(spec: TableSpec) -> AssetKey:
    return AssetKey(["silver", *spec.name.split("/")])


def run_ingest(
    decl: SourceIngest, storage: LakeStorage, settings: Settings, run_id: str, end: date
) -> list[IngestReport]:
    with source_write_lock(storage, decl.source):  # one writer per table: never beside a backfill of this source
        reports = decl.run(storage, settings, run_id=run_id, start=settings.start_date, end=end)
    record_mode(storage, decl.source, settings.source_mode)
    if settings.source_mode != "files":  # publisher files carry no as-of date: they cap nothing
        record_as_of(storage, decl.source, end)
    return reports


_SECRET_LIKE = ("key", "secret", "token", "password", "postgres", "webhook")


def ingest_fingerprint(
    decl: SourceIngest, storage: LakeStorage, settings: Settings, as_of: date
) -> tuple[StageFingerprint | None, list[str]]:
    """What an ingest's result depends on, when that is knowable without asking the publisher: only the simulated
    publisher is a pure function of its settings (seed, universe, dates, clock), so only it can be skipped. A live
    publisher or a folder of files can change (revisions, a new file) without anything in the lake saying so.
    Secrets are left out of the configuration hashed."""
    outputs = [storage.uri("silver", *s.spec.name.split("/")) for s in decl.silver]  # bronze: files + a manifest
    if settings.source_mode != "simulated":
        return None, outputs
    config = {
        k: v for k, v in settings.model_dump(mode="json").items() if not any(word in k.lower() for word in _SECRET_LIKE)
    }
    files = [settings.universe_file, settings.publisher_clock_file]
    config["files"] = [Path(f).read_text(encoding="utf-8") if f and Path(f).is_file() else None for f in files]
    config["as_of"] = as_of.isoformat()
    fingerprint = StageFingerprint(
        stage=f"ingest/{decl.name or decl.source}",
        inputs={},
        code=code_hash("assets.ingest", "resources.sources", "resources.simulated", "resources.quality"),
        config=config_hash(config),
    )
    return fingerprint, outputs


def ingest_unchanged(decl: SourceIngest, storage: LakeStorage, settings: Settings, as_of: date) -> StageRecord | None:
    """The ingest's last record if it would skip (simulated publisher only, see ingest_fingerprint)."""
    fingerprint, outputs = ingest_fingerprint(decl, storage, settings, as_of)
    return None if fingerprint is None else unchanged(storage, fingerprint, outputs)


def build_ingest_assets(decl: SourceIngest) -> tuple[AssetsDefinition, list[AssetChecksDefinition]]:
    op_name = decl.name or f"{decl.source}_ingest"

    @skip_probe(op_name)
    def _unchanged(storage: LakeStorage, settings: Settings, window: Window) -> StageRecord | None:
        return ingest_unchanged(decl, storage, settings, window.last)

    partitions_def = DECLARED[decl.cadence]
    tags = {CADENCE_TAG: decl.cadence, "nexus/source": decl.source, **decl.extra_tags}
    bronze_specs = [
        AssetSpec(
            bronze_key(decl.source, b.name),
            group_name="ingest",
            description=f"{b.description}\n\n{AS_OF_PARTITION_MEANING[decl.cadence]}",
            kinds={"delta"},
            partitions_def=partitions_def,
            tags=tags,
        )
        for b in decl.bronze
    ]
    silver_specs = [
        AssetSpec(
            silver_key(s.spec),
            deps=[spec.key for spec in bronze_specs],
            group_name="silver",
            description=f"{s.spec.description}\n\n{AS_OF_PARTITION_MEANING[decl.cadence]}",
            kinds={"delta"},
            partitions_def=partitions_def,
            tags=tags,
            metadata={"table": f"silver/{s.spec.name}", "natural_key": list(s.spec.keys)},
        )
        for s in decl.silver
    ]

    @multi_asset(
        name=op_name,
        specs=[*bronze_specs, *silver_specs],
        backfill_policy=BackfillPolicy.single_run(),
        can_subset=False,
        pool=pool_for(decl.source),
        description=decl.description,
    )
    def _ingest(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource):
        config = settings.get()
        _, as_of = window_of(context, as_of=True, end_date=config.end_date, live=config.source_mode == "live")
        storage = lake.storage()
        fingerprint, outputs = ingest_fingerprint(decl, storage, config, as_of)
        if fingerprint is not None and unchanged(storage, fingerprint, outputs) is not None:
            context.log.info(f"{decl.source} as of {as_of}: {SKIPPED} (simulated publisher, same settings and code)")
            for spec in [*bronze_specs, *silver_specs]:
                yield MaterializeResult(asset_key=spec.key, metadata={"skipped": SKIPPED, "as_of": str(as_of)})
            return
        context.log.info(f"{decl.source}: publisher state as of {as_of}, history from {config.start_date}")
        with transient_faults_retried():
            reports = run_ingest(decl, storage, config, context.run_id, as_of)
        if fingerprint is not None:
            record_run(storage, fingerprint, outputs)
        for b, spec in zip(decl.bronze, bronze_specs, strict=True):
            yield MaterializeResult(asset_key=spec.key, metadata=bronze_metadata(storage, reports, b.datasets))
        by_table = {r.table: r for r in reports}
        for s, spec in zip(decl.silver, silver_specs, strict=True):
            yield MaterializeResult(
                asset_key=spec.key, metadata=silver_metadata(storage, by_table.get(s.spec.name), s.spec, as_of)
            )

    checks = [_quality_check(s) for s in decl.silver]
    return _ingest, checks


def _quality_check(silver: SilverAsset) -> AssetChecksDefinition:
    @asset_check(
        asset=silver_key(silver.spec),
        name=f"{silver.suite.name}_suite",
        blocking=True,
        description=f"Great Expectations suite {silver.suite.name}: keys, ordering, ranges, consistency.",
    )
    def _check(context: AssetCheckExecutionContext, lake: LakeResource):
        return quality_check_result(
            lake.storage(), silver.spec, silver.suite, severity=AssetCheckSeverity.ERROR, run_id=context.run.run_id
        )

    return _check
