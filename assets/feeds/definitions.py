"""The feeds stage's part of the code location: the per-client deliveries and their log."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.feeds.assets import delivery_log
from assets.partitions import Cadence, bind_partitions


def feeds_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """The deliveries on the daily decision-day partitions of `partitions` (datasets register when they run)."""
    return Definitions(assets=[bind_partitions(delivery_log, partitions)])
