"""The ingest stage's part of the code location: each source's bronze and silver assets with their checks."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.ingest.stage import INGEST_ASSETS, INGEST_CHECKS
from assets.partitions import Cadence, bind_partitions


def ingest_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """Every source's ingest multi-assets on `partitions` (the configured lake start), with their quality and
    calendar-freshness checks."""
    return Definitions(assets=[bind_partitions(a, partitions) for a in INGEST_ASSETS], asset_checks=INGEST_CHECKS)
