"""Cboe indices: bronze payloads and the silver table, with a blocking quality check on silver."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    asset_check,
    multi_asset,
)

from assets.ingest.reporting import ingest_metadata, quality_check_result
from pipelines.partitions import daily_partitions, window_of
from resources.lake.resource import LakeResource
from resources.settings import get_settings
from resources.sources.cboe.ingest import ingest_cboe
from resources.sources.cboe.spec import INDEX_CLOSES, QUALITY, SOURCE

BRONZE_KEY = AssetKey(["bronze", "cboe", "index_history"])
SILVER_KEY = AssetKey(["silver", "cboe", "index_closes"])


@multi_asset(
    specs=[
        AssetSpec(
            BRONZE_KEY,
            group_name="bronze",
            description="Cboe `<INDEX>_History.csv` payloads, byte for byte, registered in the bronze manifest.",
            kinds={"delta", "csv"},
            partitions_def=daily_partitions,
        ),
        AssetSpec(
            SILVER_KEY,
            deps=[BRONZE_KEY],
            group_name="silver",
            description=INDEX_CLOSES.description,
            kinds={"delta"},
            partitions_def=daily_partitions,
            metadata={"dagster/table_name": f"silver/{INDEX_CLOSES.name}", "keys": list(INDEX_CLOSES.keys)},
        ),
    ],
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=False,
)
def cboe_index_closes(context: AssetExecutionContext, lake: LakeResource):  # noqa: ANN201
    """Fetch every Cboe index file as published at the end of the partition window and merge it into silver."""
    _, end = window_of(context)
    storage = lake.storage()
    settings = get_settings()
    report = ingest_cboe(storage, settings, run_id=context.run_id, start=settings.start_date, end=end)
    bronze_meta, silver_meta = ingest_metadata(storage, report, INDEX_CLOSES)
    yield MaterializeResult(asset_key=BRONZE_KEY, metadata=bronze_meta)
    yield MaterializeResult(asset_key=SILVER_KEY, metadata=silver_meta)


@asset_check(asset=SILVER_KEY, blocking=True, description=f"Great Expectations suite {QUALITY.name}")
def cboe_index_closes_quality(lake: LakeResource) -> AssetCheckResult:
    return quality_check_result(lake.storage(), INDEX_CLOSES, QUALITY, severity=AssetCheckSeverity.ERROR)


__all__ = ["SOURCE", "cboe_index_closes", "cboe_index_closes_quality"]
