"""Jobs: what runs together. As-of partitioned ingest per cadence first, then the unpartitioned stages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import AssetSelection, define_asset_job

if TYPE_CHECKING:  # the class is not exported by dagster; only the annotation needs it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from pipelines.partitions import CADENCE_TAG, PARTITIONS, Cadence


def ingest_job(cadence: Cadence) -> UnresolvedAssetJobDefinition:
    return define_asset_job(
        name=f"{cadence}_ingest_job",
        selection=AssetSelection.tag(CADENCE_TAG, cadence),
        partitions_def=PARTITIONS[cadence],
        description=f"Ingest the {cadence} publishers into bronze and silver, as of the partition's last day.",
    )


marts_job = define_asset_job(
    name="marts_job",
    selection=AssetSelection.groups("reference", "staging", "intermediate", "marts", "gold"),
    description="Reference tables, dbt build of staging, intermediate and marts (tests as checks), gold publishing.",
)


def run_plan(cadences: list[Cadence]) -> tuple[tuple[str, Cadence | None], ...]:
    """The order `nexus run` materializes the graph in: (job name, cadence of its as-of partition or None)."""
    return (*((f"{c}_ingest_job", c) for c in cadences), ("marts_job", None))
