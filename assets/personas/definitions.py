"""The persona stage's part of the code location: six persona tables, the audit trail and the weekly PDF."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.partitions import Cadence, bind_partitions
from assets.personas.assets import persona_outputs


def personas_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """`persona_outputs` (one multi-asset) on the daily decision-day partitions of `partitions`."""
    return Definitions(assets=[bind_partitions(persona_outputs, partitions)])
