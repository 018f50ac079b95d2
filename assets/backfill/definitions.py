"""The backfill stage's part of the code location: silver re-derived from bronze by Spark, and its launcher."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.backfill.assets import BACKFILL_ASSETS, SparkBackfillLauncher
from assets.partitions import Cadence, bind_partitions


def backfill_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """`backfill/<source>` per source, with the resource that launches the Spark job (local or EMR Serverless)."""
    return Definitions(
        assets=[bind_partitions(a, partitions) for a in BACKFILL_ASSETS],
        resources={"backfill_launcher": SparkBackfillLauncher()},
    )
