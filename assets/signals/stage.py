"""The signals stage as plain functions: signals from the model stage's walk-forward predictions and regimes.

It lives here, not in `assets/models/pipeline.py`, so that imports run one way: signals read the models' outputs,
and nothing in `assets.models` imports `assets.signals`.
"""

from __future__ import annotations

from datetime import time

import pandas as pd

from assets.models.labels import LabelConfig
from assets.models.pipeline import ModelInputs
from assets.signals.build import SignalConfig, build_signals
from assets.signals.decision import DecisionConfig


def signal_config(cost_bps: float, decision_time_utc: time) -> SignalConfig:
    """The production signals configuration: decision thresholds learned net of `cost_bps` per trade, labels
    known from the first decision time (`decision_time_utc`, the settings') after they are published."""
    return SignalConfig(
        labels=LabelConfig(decision_time_utc=decision_time_utc), decision=DecisionConfig(cost_bps=cost_bps)
    )


def run_signals(
    inputs: ModelInputs, predictions: pd.DataFrame, regimes: pd.DataFrame, config: SignalConfig, run_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(signals, ensemble weights, decision thresholds) from the walk-forward predictions and regimes."""
    by_horizon = {int(h): rows for h, rows in predictions.groupby("horizon")}
    return build_signals(inputs.features, inputs.labels, by_horizon, regimes, run_id=run_id, config=config)
