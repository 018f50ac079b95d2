"""Jobs: what runs together. As-of partitioned ingest per cadence first, then the unpartitioned stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dagster import AssetChecksDefinition, AssetSelection, PartitionsDefinition, define_asset_job

if TYPE_CHECKING:  # the class is not exported by dagster; only the annotation needs it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from assets.partitions import CADENCE_TAG, Cadence
from assets.retries import INGEST_RETRY_POLICY
from pipelines.concurrency import DOWNSTREAM_WRITER, writes_tags


def ingest_job(
    cadence: Cadence,
    writers: list[str],
    partitions_def: PartitionsDefinition,
    scheduled_checks: Sequence[AssetChecksDefinition] = (),
) -> UnresolvedAssetJobDefinition:
    """The cadence's ingest over `partitions_def`; `writers` are its multi-assets (see pipelines/concurrency.py).
    `scheduled_checks` (dbt source freshness, on its own half-hour ticks) stay out: a release never waits for dbt."""
    keys = [key for checks in scheduled_checks for key in checks.check_keys]
    return define_asset_job(
        name=f"{cadence}_ingest_job",
        selection=AssetSelection.tag(CADENCE_TAG, cadence) - AssetSelection.checks(*keys),
        partitions_def=partitions_def,
        description=f"Ingest the {cadence} publishers into bronze and silver, as of the partition's last day.",
        op_retry_policy=INGEST_RETRY_POLICY,
        tags=writes_tags(writers),
    )


def marts_job(scheduled_checks: Sequence[AssetChecksDefinition] = ()) -> UnresolvedAssetJobDefinition:
    """The marts stage with its dbt tests; `scheduled_checks` (freshness, on their own half-hour ticks) stay out,
    so a nightly build pays nothing for them."""
    keys = [key for checks in scheduled_checks for key in checks.check_keys]
    return define_asset_job(
        name="marts_job",
        tags=writes_tags([DOWNSTREAM_WRITER]),
        selection=AssetSelection.groups("marts") - AssetSelection.checks(*keys),
        description="Reference tables, dbt build of staging, intermediate and marts (tests as checks), gold copies.",
    )


models_job = define_asset_job(
    name="models_job",
    tags=writes_tags([DOWNSTREAM_WRITER]),
    selection=AssetSelection.groups("models"),
    description="Regimes, walk-forward models for every horizon (model store) and their out-of-sample evaluation.",
)


def daily_jobs(daily: PartitionsDefinition) -> list[UnresolvedAssetJobDefinition]:
    """The decision-day jobs (signals, personas, feeds) over the daily partitions `daily`."""
    stages = (
        ("signals", "Daily signals for a day or a range of days (one run per range)."),
        ("personas", "The six persona outputs, the audit trail and the weekly PDF report for a day or a range."),
        ("feeds", "Deliver every client's feed due on the partition's day."),
    )
    return [
        define_asset_job(
            name=f"{group}_job",
            tags=writes_tags([DOWNSTREAM_WRITER]),
            selection=AssetSelection.groups(group),
            partitions_def=daily,
            description=description,
        )
        for group, description in stages
    ]


MODEL_STAGE_JOBS = frozenset({"models_job", "signals_job", "personas_job", "feeds_job"})
"""Jobs that need the walk-forward models, and so several years of history before the run's end date."""

RunStep = tuple[str, str]  # (job name, how its partitions are chosen: "as_of:<cadence>", "window" or "none")


def run_plan(cadences: list[Cadence]) -> tuple[RunStep, ...]:
    """The order `nexus run` materializes the graph in."""
    return (
        *((f"{c}_ingest_job", f"as_of:{c}") for c in cadences),
        ("marts_job", "none"),
        ("models_job", "none"),
        ("signals_job", "window"),
        ("personas_job", "window"),
        ("feeds_job", "end"),
    )


def maintenance_job(writers: list[str]) -> UnresolvedAssetJobDefinition:
    """Lake maintenance rewrites every silver and gold table: it holds every writer's tag, so it runs alone."""
    return define_asset_job(
        name="maintenance_job",
        selection=AssetSelection.groups("maintenance"),
        description="Compact small files and vacuum old ones in every silver and gold table (never bronze).",
        tags=writes_tags([DOWNSTREAM_WRITER, *writers]),
    )


def backfill_job(source: str) -> UnresolvedAssetJobDefinition:
    """A source's bulk backfill; it carries the nightly ingest's writer tag, so the run queue never runs both.
    `features` rewrites a gold mart: it is the `downstream` writer, never beside a marts, models or daily run."""
    if source == "features":
        return define_asset_job(
            name="backfill_features_job",
            selection=AssetSelection.keys(["backfill", source]),
            description="Rebuild gold/marts/fct_features_daily from the upstream gold marts (Spark through Pipes).",
            tags=writes_tags([DOWNSTREAM_WRITER]),
        )
    return define_asset_job(
        name=f"backfill_{source}_job",
        selection=AssetSelection.keys(["backfill", source]),
        description=f"Re-derive {source}'s silver tables from all of its bronze payloads (Spark through Pipes).",
        tags=writes_tags([f"{source}_ingest"]),
    )
