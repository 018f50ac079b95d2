"""The delivery log: each client's entitled data delivered for its due date (files, manifests), and one row per
delivery in `gold/feeds/delivery_log`, the one name of this table as asset key, lake path and `nexus sql` name
(`feeds_delivery_log`)."""

from datetime import date

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from assets.automation import DAY_MARKER, decision_day_after_inputs
from assets.feeds.runner import deliver_all, feeds_storage, register_feed_datasets
from assets.partitions import DECISION_DAY_PARTITION_MEANING, daily_partitions, window_of
from assets.personas.assets import PERSONA_KEYS
from assets.signals.assets import SIGNALS_KEY
from assets.skips import Window, skip_probe
from resources.feeds.clients import get_clients
from resources.feeds.log import DELIVERY_LOG
from resources.lake.provenance import source_modes
from resources.lake.resource import LakeResource
from resources.lake.stage_state import (
    StageFingerprint,
    StageRecord,
    code_hash,
    config_hash,
    record_run,
    table_versions,
    unchanged,
)
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.settings_resource import SettingsResource

DELIVERY_LOG_KEY = AssetKey(["gold", *DELIVERY_LOG.path_parts()])


def feeds_state(storage: LakeStorage, day: date, settings: Settings) -> tuple[StageFingerprint, list[str]] | None:
    """What the day's deliveries are made of: every deliverable table's version, the clients file, the lake's
    provenance (the simulated-data notice), the feeds root and the code. None when a client gets presigned links
    (an S3 feeds root): those are handed out afresh on every delivery, so the stage always runs."""
    clients = get_clients(settings.clients_file)
    if feeds_storage(settings).is_s3 and any(client.target.presign for client in clients.clients):
        return None
    datasets = register_feed_datasets()
    fingerprint = StageFingerprint(
        stage="feeds",
        inputs=table_versions(storage, sorted({d.uri(storage) for d in datasets})),
        code=code_hash("assets.feeds", "resources.feeds"),
        config=config_hash(
            {
                "clients": clients.model_dump(mode="json"),
                "day": day.isoformat(),
                "feeds_uri": feeds_storage(settings).root_uri,
                "presign_expiry_s": settings.feeds_presign_expiry_s,
                "provenance": {source: sorted(modes) for source, modes in source_modes(storage).items()},
            }
        ),
    )
    return fingerprint, [storage.uri("gold", *DELIVERY_LOG.path_parts())]


@skip_probe(DELIVERY_LOG_KEY.to_python_identifier())
def feeds_unchanged(storage: LakeStorage, settings: Settings, window: Window) -> StageRecord | None:
    """Every client's delivery for the day is in the log with this content (what deliver() finds 'unchanged')."""
    state = feeds_state(storage, window.last, settings)
    return None if state is None else unchanged(storage, *state)


@asset(
    key=DELIVERY_LOG_KEY,
    deps=[SIGNALS_KEY, *PERSONA_KEYS.values(), AssetKey(["gold", "marts", "fct_features_daily"]), DAY_MARKER],
    group_name="feeds",
    automation_condition=decision_day_after_inputs(),
    kinds={"parquet", "csv", "json"},
    partitions_def=daily_partitions,
    description=(
        "Per-client exports under NEXUS_FEEDS_URI/<client>/date=<D>/v<N>/ (files, JSON Schemas, manifest) for each "
        "client's due date (daily, weekly or monthly cadence), each recorded as a row of this log; a repeat with the "
        "same content delivers nothing. " + DECISION_DAY_PARTITION_MEANING
    ),
)
def delivery_log(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource) -> MaterializeResult:
    _, day = window_of(context)
    storage = lake.storage()
    state = feeds_state(storage, day, settings.get())  # before delivering: what the deliveries are made of
    run = deliver_all(storage, settings.get(), day, run_id=context.run_id)
    # presigned URLs reach clients through their links files only: never the run's metadata or logs
    rows = [r.model_dump(mode="json", exclude={"presigned_urls"}) for r in run.results]
    metadata = {
        "delivered": sum(r.status == "delivered" for r in run.results),
        "unchanged": sum(r.status == "unchanged" for r in run.results),
        "failed": len(run.failures),
        "links_files": sum(r.links_uri is not None for r in run.results),
        "deliveries": MetadataValue.json(rows),
        "log": MetadataValue.path(storage.uri("gold", *DELIVERY_LOG.path_parts())),
    }
    if run.failures:
        metadata["failures"] = MetadataValue.json([f.model_dump(mode="json") for f in run.failures])
        names = ", ".join(f.client_id for f in run.failures)
        raise Failure(
            description=f"{len(run.failures)} of {len(run.failures) + len(run.results)} client deliveries failed "
            f"({names}); the others were delivered",
            metadata=metadata,
        )
    if state is not None:
        record_run(storage, *state)
    return MaterializeResult(metadata={**metadata, "skipped": "no: delivered or checked each client"})
