"""The model's features against the oracle, walk-forward on the lake of the current settings (`make run` first).

Per horizon, out of sample and pooled over the oracle's instruments: the shipped model (effect features only,
`assets/models/effect_features.py`) beside the same walk-forward on the mart's contract features with the
instrument codes (the model before the effect features), and the oracle; Sharpe after NEXUS_COST_BPS, with hit
rate and IC. `python -m tests.bench.run_all effect_features`; set NEXUS_BENCH_HORIZONS (e.g. "5") to run fewer.
Simulated lakes only (the oracle is the simulated world's).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from assets.models.assets import stage_config
from assets.models.evaluation import POOLED, evaluate
from assets.models.pipeline import ModelInputs, ModelStageConfig, load_inputs
from assets.models.walk_forward import WalkForwardConfig, walk_forward
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.simulated.oracle import ORACLE_SYMBOLS, oracle_scores
from tests.bench.common import Figure, since


def _pooled(predictions: pd.DataFrame, inputs: ModelInputs, config: ModelStageConfig) -> pd.Series:
    covered = predictions[predictions["symbol"].isin(ORACLE_SYMBOLS)]
    for column in ("p_down", "p_flat", "p_up"):
        if column not in covered:
            covered = covered.assign(**{column: float("nan")})
    if "pred_class" not in covered:  # the oracle gives a score only
        covered = covered.assign(pred_class=np.sign(covered["score"]))
    metrics = evaluate(covered, inputs.features, inputs.labels, config.evaluation).metrics_frame()
    return metrics[metrics["symbol"] == POOLED].iloc[0]


def run() -> list[Figure]:
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    if settings.source_mode != "simulated":
        return [Figure("effect features: needs a simulated lake (the oracle)", 0.0, "")]
    config = stage_config(settings)
    inputs = load_inputs(storage, config)
    horizons = tuple(int(h) for h in os.environ.get("NEXUS_BENCH_HORIZONS", "1,2,3,5,7,10").split(","))
    variants = {"shipped": config.walk_forward, "contract features": WalkForwardConfig()}
    figures = []
    for h in horizons:
        oracle = oracle_scores(settings.seed, (h,)).rename(columns={"expected": "score"})
        keys = None
        rows = {}
        for name, wf in variants.items():
            started = time.perf_counter()
            predictions = walk_forward(inputs.features, inputs.labels, wf.for_horizon(h)).predictions
            rows[name] = (_pooled(predictions, inputs, config), since(started))
            keys = predictions[["symbol", "trade_date", "horizon"]] if keys is None else keys
        oracle_row = _pooled(keys.merge(oracle, on=["symbol", "trade_date", "horizon"]), inputs, config)
        for name, (row, seconds) in {**rows, "oracle": (oracle_row, 0.0)}.items():
            share = f" | {row.sharpe / oracle_row.sharpe:.0%} of the oracle's Sharpe" if name != "oracle" else ""
            figures.append(
                Figure(
                    f"D+{h} {name}: Sharpe after costs (oracle's instruments)",
                    row.sharpe,
                    "",
                    f"hit {row.hit_rate:.3f} | IC {row.ic:+.3f}{share}"
                    + (f" | fit {seconds:.0f} s" if seconds else ""),
                )
            )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
