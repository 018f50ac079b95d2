"""The maintenance stage's part of the code location: compaction and vacuum of the lake."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.maintenance.assets import lake_maintenance
from assets.partitions import Cadence, bind_partitions


def maintenance_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """`lake/maintenance` (the weekly schedule that runs it is wiring, in pipelines/)."""
    return Definitions(assets=[bind_partitions(lake_maintenance, partitions)])
