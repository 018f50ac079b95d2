"""The signals stage's part of the code location: daily signals, the paper ledger and the scorecard."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.partitions import Cadence, bind_partitions
from assets.signals.assets import daily_signals, paper_ledger, signals_scorecard


def signals_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """`gold/signals/*` on the daily decision-day partitions of `partitions`."""
    assets = (daily_signals, paper_ledger, signals_scorecard)
    return Definitions(assets=[bind_partitions(a, partitions) for a in assets])
