"""The model stage's part of the code location: regimes, walk-forward predictions and their evaluation."""

from __future__ import annotations

from dagster import Definitions, PartitionsDefinition

from assets.models.assets import evaluation, oos_predictions, regimes
from assets.partitions import Cadence, bind_partitions


def models_definitions(partitions: dict[Cadence, PartitionsDefinition]) -> Definitions:
    """`gold/models/*` with their leak-audit and planted-effects checks (declared on the assets)."""
    return Definitions(assets=[bind_partitions(a, partitions) for a in (regimes, oos_predictions, evaluation)])
