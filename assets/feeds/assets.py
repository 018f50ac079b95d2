"""Client deliveries: each client's entitled data for its due date, with manifests and the delivery log."""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from assets.automation import DAY_MARKER, decision_day_after_inputs
from assets.feeds.runner import deliver_all
from assets.partitions import DECISION_DAY_PARTITION_MEANING, daily_partitions, window_of
from assets.personas.assets import PERSONA_KEYS
from assets.signals.assets import SIGNALS_KEY
from resources.feeds.log import DELIVERY_LOG
from resources.lake.resource import LakeResource
from resources.settings import get_settings


@asset(
    key=AssetKey(["gold", "feeds", "deliveries"]),
    deps=[SIGNALS_KEY, *PERSONA_KEYS.values(), AssetKey(["gold", "marts", "fct_features_daily"]), DAY_MARKER],
    group_name="feeds",
    automation_condition=decision_day_after_inputs(),
    kinds={"parquet", "csv", "json"},
    partitions_def=daily_partitions,
    description=(
        "Per-client exports under NEXUS_FEEDS_URI/<client>/date=<D>/v<N>/ (files, JSON Schemas, manifest) for each "
        "client's due date (daily, weekly or monthly cadence); a repeat with the same content delivers nothing. "
        + DECISION_DAY_PARTITION_MEANING
    ),
)
def client_deliveries(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    _, day = window_of(context)
    storage = lake.storage()
    run = deliver_all(storage, get_settings(), day, run_id=context.run_id)
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
    return MaterializeResult(metadata=metadata)
