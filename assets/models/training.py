"""Train every horizon walk-forward, reusing stored models whose training rows are identical.

The walk-forward schedule is fixed by the calendar, so most cutoffs of a nightly run saw exactly the same rows
as the night before: their models are loaded from the model store instead of retrained (same rows, config and
seed give the same model; the key is a hash of all of them), and only new cutoffs cost training time.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd

from assets.models.lgbm import TrainedModel
from assets.models.walk_forward import (
    Trainer,
    WalkForwardConfig,
    WalkForwardResult,
    model_name,
    train_model,
    walk_forward,
)
from resources.fit_cache import LakeFitCache
from resources.model_store import ModelStore

HORIZONS: tuple[int, ...] = (1, 2, 3, 5, 7, 10)


def training_key(train: pd.DataFrame, cutoff: date, config: WalkForwardConfig, symbol: str | None) -> str:
    digest = hashlib.sha256()
    digest.update(f"{model_name(config, symbol)}|{cutoff}|{config.model_dump_json()}|".encode())
    ordered = train.sort_values(["trade_date", "symbol"]).reset_index(drop=True)
    ordered = ordered[sorted(ordered.columns)]
    digest.update(pd.util.hash_pandas_object(ordered, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def cached_trainer(store: ModelStore, cache: LakeFitCache) -> Trainer:
    """A walk-forward trainer that saves every model to the store and reuses it when the inputs repeat."""

    def train(rows: pd.DataFrame, cutoff: date, config: WalkForwardConfig, symbol: str | None) -> TrainedModel:
        key = training_key(rows, cutoff, config, symbol)
        version = cache.get(key)
        if version is not None:
            return TrainedModel.from_artifact(store.load(model_name(config, symbol), version))
        model = train_model(rows, cutoff, config, symbol)
        version = store.save(model.to_artifact())
        cache.put(key, version)
        return model

    return train


def train_all_horizons(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: WalkForwardConfig,
    *,
    store: ModelStore | None = None,
    cache: LakeFitCache | None = None,
    horizons: tuple[int, ...] = HORIZONS,
) -> dict[int, WalkForwardResult]:
    trainer = cached_trainer(store, cache) if store is not None and cache is not None else None
    return {h: walk_forward(features, labels, config.for_horizon(h), trainer=trainer) for h in horizons}
