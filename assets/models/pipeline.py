"""The model stage as plain functions: regimes, walk-forward models and evaluation from a lake.

The Dagster assets in `assets/models/assets.py` are thin wrappers around these, and the tests and benchmarks call
them directly (for example to rebuild everything from a lake cut at a date T). The signals built on these outputs
are `assets/signals/stage.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from assets.models.data import load_features, load_labels
from assets.models.effect_features import EFFECT_FEATURES
from assets.models.evaluation import EvaluationConfig, EvaluationReport, evaluate, labelled_rows
from assets.models.planted import EffectEstimate, measure_planted_effects
from assets.models.regimes import RegimeConfig, RegimeResult, observation_frame, symbol_regimes
from assets.models.regimes_worker import fit_symbol
from assets.models.training import HORIZONS, train_all_horizons
from assets.models.walk_forward import WalkForwardConfig, WalkForwardResult
from assets.models.worker_pool import model_pool
from resources.fit_cache import LakeFitCache
from resources.lake.storage import LakeStorage
from resources.model_store import ModelStore


class ModelStageConfig(BaseModel):
    """Every choice of the model stage in one place (defaults are the production ones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizons: tuple[int, ...] = HORIZONS
    regimes: RegimeConfig = RegimeConfig(refit_frequency="YS")
    walk_forward: WalkForwardConfig = Field(
        default=WalkForwardConfig(features=EFFECT_FEATURES),
        description=(
            "the shipped model reads the effect features only: with the mart's raw columns and the instrument codes "
            "it captured none of the simulated world's edge (README, Models)"
        ),
    )
    evaluation: EvaluationConfig = EvaluationConfig()
    symbols: tuple[str, ...] | None = Field(default=None, description="restrict to these symbols (tests)")
    workers: int = Field(
        default=2, ge=1, le=16, description="processes for the per-symbol regime fits and the horizons"
    )


def first_signal_date(start: date, config: ModelStageConfig) -> date:
    """The latest date by which walk-forward predictions exist when history begins at `start`.

    The first model is trained `min_train_years` after the first feature date, at the next retraining month end;
    predictions (and so signals) start the day after it.
    """
    wf = config.walk_forward
    earliest = pd.Timestamp(start) + pd.Timedelta(days=round(365.25 * wf.min_train_years))
    return (earliest + pd.DateOffset(months=wf.retrain_months) + pd.offsets.MonthEnd(0)).date() + timedelta(days=1)


@dataclass
class ModelInputs:
    features: pd.DataFrame
    labels: pd.DataFrame


def load_inputs(storage: LakeStorage, config: ModelStageConfig, *, until: date | None = None) -> ModelInputs:
    features = load_features(storage, until=until)
    labels = load_labels(storage)
    if config.symbols:
        features = features[features["symbol"].isin(config.symbols)].reset_index(drop=True)
        labels = labels[labels["symbol"].isin(config.symbols)].reset_index(drop=True)
    return ModelInputs(features, labels)


def run_regimes(storage: LakeStorage, features: pd.DataFrame, config: ModelStageConfig) -> RegimeResult:
    """Walk-forward regimes of every symbol, fits cached in the lake, symbols in `workers` processes forked from a
    forkserver with the fitting code preloaded (a script calling this with `workers > 1` needs the
    `if __name__ == "__main__":` guard)."""
    rc = config.regimes
    jobs = []
    for symbol in sorted(features["symbol"].unique()):
        rows = features[features["symbol"] == symbol]
        calendar = str(rows["calendar"].iloc[0])
        jobs.append(
            (
                str(symbol),
                observation_frame(rows, rc),
                rc.periods_per_year.get(calendar, 252),
                rc,
                storage.root_uri,
                storage.storage_options,
            )
        )
    if config.workers > 1 and len(jobs) > 1:
        # forked from the model stage's forkserver (worker_pool.py), not from this process. Same regimes (by
        # sha256); default lake, empty fit cache: 18.6 CPU s spawned, 16.0 forkserver, 14.9 in one process
        with model_pool(config.workers) as pool:
            results = list(pool.map(fit_symbol, jobs))
    else:
        results = [fit_symbol(job) for job in jobs]
    frames = [r.frame for r in results if len(r.frame)]
    frame = pd.concat(frames, ignore_index=True) if frames else results[0].frame if results else pd.DataFrame()
    return RegimeResult(frame=frame, fits=[f for r in results for f in r.fits])


def _horizons_walk_forward(
    args: tuple[tuple[int, ...], pd.DataFrame, pd.DataFrame, WalkForwardConfig, str, dict[str, str]],
) -> dict[int, WalkForwardResult]:
    horizons, features, labels, config, root_uri, options = args
    storage = LakeStorage(root_uri=root_uri, storage_options=options)
    store, cache = ModelStore(storage), LakeFitCache(storage, "walk_forward")
    results = train_all_horizons(features, labels, config, store=store, cache=cache, horizons=horizons)
    # the boosters are in the model store: not sent back between processes
    return {h: r.model_copy(update={"models": []}) for h, r in results.items()}


def run_walk_forward(
    storage: LakeStorage, inputs: ModelInputs, config: ModelStageConfig
) -> dict[int, WalkForwardResult]:
    """Every horizon's walk-forward, fits cached in the lake and models saved in its store (the results carry
    predictions and cutoffs, not the boosters), horizons shared among `workers` processes.

    Horizons are independent (each has its own labels, models and store name) and each is deterministic, so
    `workers` processes give the same predictions and model versions as one; on 2 cores they cut the wall time.
    The workers fork from the model stage's forkserver (worker_pool.py), so a script calling this with
    `workers > 1` needs the `if __name__ == "__main__":` guard (the CLI, Dagster and pytest have it).
    """
    workers = min(config.workers, len(config.horizons))
    groups = [config.horizons[i::workers] for i in range(workers)] if workers > 1 else [config.horizons]
    jobs = [
        (group, inputs.features, inputs.labels, config.walk_forward, storage.root_uri, storage.storage_options)
        for group in groups
    ]
    if len(jobs) > 1:
        # not forked from this process: one forked after LightGBM has run its OpenMP pool hangs in its first fit;
        # the forkserver never trains, and its workers start with LightGBM imported (spawned ones imported it)
        with model_pool(len(jobs)) as pool:
            parts = list(pool.map(_horizons_walk_forward, jobs))
    else:
        parts = [_horizons_walk_forward(job) for job in jobs]
    found = {h: r for part in parts for h, r in part.items()}
    return {h: found[h] for h in config.horizons}


def predictions_frame(results: dict[int, WalkForwardResult]) -> pd.DataFrame:
    frames = [r.predictions for r in results.values() if len(r.predictions)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def horizon_rows(inputs: ModelInputs, predictions: pd.DataFrame, config: ModelStageConfig) -> dict[int, pd.DataFrame]:
    """`labelled_rows` of every predicted horizon, computed once for the evaluation and its return curves."""
    horizons = sorted(int(h) for h in predictions["horizon"].unique())
    return {h: labelled_rows(inputs.features, inputs.labels, h, config.evaluation) for h in horizons}


def run_evaluation(
    inputs: ModelInputs,
    predictions: pd.DataFrame,
    config: ModelStageConfig,
    labelled: dict[int, pd.DataFrame] | None = None,
    oracle_seed: int | None = None,
    oracle: pd.DataFrame | None = None,
) -> tuple[EvaluationReport, list[EffectEstimate]]:
    """The evaluation and the planted effects; with `oracle_seed` (a simulated lake) the leak audit holds the
    instruments the simulated world's oracle covers to its bound (`assets.models.leak`) instead of a fixed 60%.
    `oracle`: that world's scores for the predicted horizons when at hand (`assets.models.oracle_cache`)."""
    report = evaluate(predictions, inputs.features, inputs.labels, config.evaluation, labelled)
    if oracle_seed is not None:
        from assets.models.leak import simulated_leak_audit

        audit = simulated_leak_audit(
            report.metrics,
            predictions,
            inputs.features,
            inputs.labels,
            oracle_seed,
            config.evaluation,
            labelled,
            oracle,
        )
        report = report.model_copy(update={"leak_audit": audit})
    return report, measure_planted_effects(inputs.features, inputs.labels)


def regimes_table(frame: pd.DataFrame) -> pa.Table:
    """The regimes frame as an Arrow table for gold (lists and matrices as JSON text)."""
    out = frame.copy()
    out["trade_date"] = pd.to_datetime(out["trade_date"]).dt.date
    out["fit_date"] = pd.to_datetime(out["fit_date"]).dt.date
    for column in ("state_probabilities", "state_names", "transition_matrix"):
        if column in out:
            out[column] = out[column].map(lambda v: json.dumps(v if not hasattr(v, "tolist") else v.tolist()))
    return pa.Table.from_pandas(out, preserve_index=False)


def hmm_overlay_reference(
    storage: LakeStorage, features: pd.DataFrame, config: ModelStageConfig, symbol: str = "SPX"
) -> dict[str, float | str | None]:
    """Reference row: a 2-state HMM long/flat overlay on SPX (long when the filtered bull state is more likely).

    The position decided at D's close earns D+1's return; costs are charged on every change of position.
    """
    from assets.models.evaluation import max_drawdown, sharpe_ratio

    rows = features[features["symbol"] == symbol]
    if rows.empty:
        return {"strategy": "hmm2_long_flat", "symbol": symbol, "n_days": 0}
    rc = config.regimes.model_copy(update={"candidate_states": (2,)})
    cache = LakeFitCache(storage, "regimes_reference")
    result = symbol_regimes(observation_frame(rows, rc), symbol=symbol, periods_per_year=252, config=rc, cache=cache)
    frame = result.frame[["trade_date", "regime"]].copy()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    merged = rows[["trade_date", "ret_1d"]].merge(frame, on="trade_date", how="inner").sort_values("trade_date")
    bullish = merged["regime"].isin(["STRONG_BULL", "BULL", "WEAK_BULL", "RECOVERY"]).astype(float)
    position = bullish.shift(1).fillna(0.0)
    cost = config.evaluation.cost_bps / 10_000 * position.diff().abs().fillna(position.abs())
    pnl = (position * merged["ret_1d"].fillna(0.0) - cost).to_numpy()
    buy_hold = merged["ret_1d"].fillna(0.0).to_numpy()
    return {
        "strategy": "hmm2_long_flat",
        "symbol": symbol,
        "n_days": len(pnl),
        "sharpe": sharpe_ratio(pnl, 252),
        "ann_return": float(pnl.mean() * 252) if len(pnl) else None,
        "max_drawdown": max_drawdown(pnl),
        "time_in_market": float(position.mean()) if len(position) else None,
        "sharpe_buy_and_hold": sharpe_ratio(buy_hold, 252),
    }
