"""Jobs: what runs together. Partitioned ingest first, then the unpartitioned marts built on top."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from pipelines.partitions import daily_partitions

daily_ingest_job = define_asset_job(
    name="daily_ingest_job",
    selection=AssetSelection.key_prefixes(["bronze", "cboe"], ["silver", "cboe"]),
    partitions_def=daily_partitions,
    description="Ingest the daily publishers (Cboe) for one day or a range of days, into bronze and silver.",
)

marts_job = define_asset_job(
    name="marts_job",
    selection=AssetSelection.groups("staging", "intermediate", "marts", "gold"),
    description="dbt build of the staging, intermediate and mart models (tests as checks), then gold publishing.",
)

# The order `nexus run` materializes the graph in: (job name, partitioned as of the end date).
RUN_PLAN: tuple[tuple[str, bool], ...] = (
    ("daily_ingest_job", True),
    ("marts_job", False),
)
