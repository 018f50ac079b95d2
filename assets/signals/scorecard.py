"""Every component of the signals evaluated out of sample exactly like the model, beside its baselines and the oracle.

Rows of `gold/models/scorecard`, one per model, horizon and symbol (and pooled): the same metrics as
`gold/models/evaluation` (hit rate, Spearman IC, Sharpe after NEXUS_COST_BPS, ...), computed by the same
`assets.models.evaluation.evaluate` from a score per instrument and day:
- `lightgbm`: the model's own calibrated p_up - p_down (model_prob_*: the model alone, every row);
- `signal`: the shipped decision, sign(direction) x edge over the base rate, 0 when FLAT (no position);
- `ensemble`: the ensemble score (model and rules weighted by past ICs), reported, not traded;
- one row per rule (`rule_*`): the rule's own view, 0 when it has none; the rules are separate signals;
- `long_only`: always +1; `majority`: the sign of the past balance of UP and DOWN labels of the instrument, from
  labels known by D only (the always-majority baseline, point in time);
- `oracle` (simulated lake only): the world's conditional expected return (resources/simulated/oracle.py).
`coverage` is the share of rows with a position. Pooled rows: `ALL` over every instrument, `ORACLE_SET` over the
instruments the oracle covers (the like-for-like comparison; not for the rules, which mostly have no view there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assets.models.evaluation import POOLED, BaselineCache, EvaluationConfig, evaluate, labelled_rows
from assets.models.labels import horizon_labels, normalize_keys
from assets.models.oracle_cache import cached_oracle_scores
from assets.models.pipeline import ModelStageConfig, load_inputs
from assets.signals.build import SignalConfig
from assets.signals.build_history import signals_history
from assets.signals.ensemble import RULE_COLUMNS
from assets.signals.stage import run_signals
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.simulated.oracle import ORACLE_SYMBOLS

ORACLE_SET = "ORACLE_SET"
MODELS: tuple[str, ...] = ("lightgbm", "signal", "ensemble", *RULE_COLUMNS, "long_only", "majority", "oracle")


def majority_scores(features: pd.DataFrame, labels: pd.DataFrame, horizon: int, config: EvaluationConfig) -> pd.Series:
    """Per feature row: sign of (share UP - share DOWN) among the symbol's labels with label_end <= the row's date."""
    labs = horizon_labels(features, labels, horizon, config.labels)
    known = labs[labs["label"].notna()][["symbol", "label", "label_end"]].copy()
    known["label_end"] = pd.to_datetime(known["label_end"])
    known = known.sort_values("label_end")
    known["balance"] = known.groupby("symbol")["label"].cumsum().astype("float64")
    rows = normalize_keys(features[["symbol", "trade_date"]]).reset_index()
    merged = pd.merge_asof(
        rows.sort_values("trade_date"),
        known[["symbol", "label_end", "balance"]],
        left_on="trade_date",
        right_on="label_end",
        by="symbol",
        direction="backward",
    ).set_index("index")
    return np.sign(merged["balance"].reindex(rows["index"]).fillna(0.0)).set_axis(features.index)


def component_predictions(
    signals: pd.DataFrame, features: pd.DataFrame, labels: pd.DataFrame, config: EvaluationConfig
) -> dict[str, pd.DataFrame]:
    """Prediction-shaped frames (symbol, trade_date, horizon, score, p_*) per model from the signals."""
    base = signals.assign(trade_date=pd.to_datetime(signals["signal_date"]))
    keys = base[["symbol", "trade_date", "horizon"]]
    probs = base[["prob_down", "prob_flat", "prob_up"]].set_axis(["p_down", "p_flat", "p_up"], axis=1)
    model_probs = base[["model_prob_down", "model_prob_flat", "model_prob_up"]].set_axis(
        ["p_down", "p_flat", "p_up"], axis=1
    )
    sign = base["direction"].map({"UP": 1.0, "DOWN": -1.0, "FLAT": 0.0})
    scores = {
        "lightgbm": base["model_prob_up"] - base["model_prob_down"],
        "signal": sign * base["edge"].abs().fillna(0.0),
        "ensemble": base["ensemble_score"],
        **{rule: base[rule].fillna(0.0) for rule in RULE_COLUMNS},
        "long_only": pd.Series(1.0, index=base.index),
    }
    out = {}
    for name, score in scores.items():
        frame = keys.assign(score=score.astype("float64"))
        if name in ("lightgbm", "signal"):
            stated = model_probs if name == "lightgbm" else probs  # the model's own; the signal's stated ones
            frame = frame.join(stated)
            frame["pred_class"] = np.argmax(stated.to_numpy(float), axis=1) - 1
        out[name] = frame
    majority = []
    feats = normalize_keys(features)
    for horizon in sorted(base["horizon"].unique()):
        m = feats[["symbol", "trade_date"]].assign(
            horizon=horizon, score=majority_scores(feats, labels, horizon, config)
        )
        majority.append(m.merge(keys[keys["horizon"] == horizon], on=["symbol", "trade_date", "horizon"]))
    out["majority"] = pd.concat(majority, ignore_index=True)
    return out


def _with_probability_columns(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("p_down", "p_flat", "p_up"):
        if column not in frame:
            frame = frame.assign(**{column: np.nan})
    if "pred_class" not in frame:
        frame = frame.assign(pred_class=np.sign(frame["score"]))
    return frame


def _metrics(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: EvaluationConfig,
    labelled: dict[int, pd.DataFrame] | None = None,
    baselines: BaselineCache | None = None,
):
    report = evaluate(_with_probability_columns(predictions), features, labels, config, labelled, baselines)
    metrics = report.metrics_frame()
    active = predictions.assign(active=predictions["score"].fillna(0.0) != 0)
    by_symbol = active.groupby(["horizon", "symbol"])["active"].mean().rename("coverage").reset_index()
    pooled = active.groupby("horizon")["active"].mean().rename("coverage").reset_index().assign(symbol=POOLED)
    return metrics.merge(pd.concat([by_symbol, pooled]), on=["horizon", "symbol"], how="left")


def scorecard(
    signals: pd.DataFrame,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: EvaluationConfig,
    oracle: pd.DataFrame | None = None,
    oracle_symbols: tuple[str, ...] = (),
    workers: int = 1,
) -> pd.DataFrame:
    """Metrics per model, horizon and symbol (pooled `ALL` and, with an oracle, `ORACLE_SET`). With `workers` > 1
    the models are shared among that many processes of the model stage's pool: each model's rows are the same."""
    predictions = component_predictions(signals, features, labels, config)
    if oracle is not None and len(oracle):
        keys = signals.assign(trade_date=pd.to_datetime(signals["signal_date"]))[["symbol", "trade_date", "horizon"]]
        scored = oracle.assign(trade_date=pd.to_datetime(oracle["trade_date"])).rename(columns={"expected": "score"})
        predictions["oracle"] = keys.merge(scored, on=["symbol", "trade_date", "horizon"], how="inner")
    # every model is evaluated on the same panel: its labels per horizon, and the baselines (momentum, long-only,
    # 12-month momentum) of each symbol's span, are computed once per process, not once per model
    horizons = sorted({int(h) for frame in predictions.values() for h in frame["horizon"].unique()})
    labelled = {h: labelled_rows(features, labels, h, config) for h in horizons}
    shares = _shares(predictions, oracle_symbols, workers)
    if len(shares) == 1:
        by_model = dict(_models_metrics(shares[0], features, labels, config, labelled, oracle_symbols))
    else:
        from assets.models.worker_pool import model_pool, spilled  # the forkserver: not with the definitions

        # the frames go to the workers through files: the pool's queue would hold each task's pickle in memory
        payloads = spilled((features, labels, config, labelled, oracle_symbols), *shares)
        with payloads as (common, *files), model_pool(len(shares)) as pool:  # the pool exits first
            futures = [pool.submit(_spilled_models_metrics, file, common) for file in files]
            by_model = {name: metrics for future in futures for name, metrics in future.result()}
    out = pd.concat([by_model[name] for name in predictions], ignore_index=True)
    return out[["model", *[c for c in out.columns if c != "model"]]]


def _shares(
    predictions: dict[str, pd.DataFrame], oracle_symbols: tuple[str, ...], workers: int
) -> list[list[tuple[str, pd.DataFrame]]]:
    """The models split into at most `workers` shares of about equal work (rows evaluated, twice for a model also
    pooled over the oracle's instruments), largest first to the least loaded share: the same split every run."""

    def work(item: tuple[str, pd.DataFrame]) -> int:
        name, frame = item
        return len(frame) * (2 if oracle_symbols and not name.startswith("rule_") else 1)

    shares: list[list[tuple[str, pd.DataFrame]]] = [[] for _ in range(max(1, min(workers, len(predictions))))]
    loads = [0] * len(shares)
    for item in sorted(predictions.items(), key=lambda item: -work(item)):
        lightest = loads.index(min(loads))
        shares[lightest].append(item)
        loads[lightest] += work(item)
    return shares


def _spilled_models_metrics(share: Path, common: Path) -> list[tuple[str, pd.DataFrame]]:
    """`_models_metrics` of a share and the shared arguments `spilled` to files (a worker's task)."""
    from assets.models.worker_pool import unspill

    return _models_metrics(unspill(share), *unspill(common))


def _models_metrics(
    share: list[tuple[str, pd.DataFrame]],
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: EvaluationConfig,
    labelled: dict[int, pd.DataFrame],
    oracle_symbols: tuple[str, ...],
) -> list[tuple[str, pd.DataFrame]]:
    """Each model's metrics rows, the models of one share sharing one BaselineCache (a worker's task)."""
    baselines = BaselineCache()
    out = []
    for name, frame in share:
        metrics = _metrics(frame, features, labels, config, labelled, baselines)
        if oracle_symbols and not name.startswith("rule_"):
            covered = frame[frame["symbol"].isin(oracle_symbols)]
            pooled = _metrics(covered, features, labels, config, labelled, baselines)
            metrics = pd.concat([metrics, pooled[pooled["symbol"] == POOLED].assign(symbol=ORACLE_SET)])
        out.append((name, metrics.assign(model=name)))
    return out


def oracle_capture(card: pd.DataFrame, model: str = "signal", pool: str = ORACLE_SET) -> pd.DataFrame:
    """Per horizon: the model's and the oracle's hit-rate edge over 50%, IC and Sharpe, and the fractions captured."""
    rows = card[card["symbol"] == pool].set_index(["model", "horizon"])
    out = []
    for horizon in sorted(card["horizon"].unique()):
        if (model, horizon) not in rows.index or ("oracle", horizon) not in rows.index:
            continue
        m, o = rows.loc[(model, horizon)], rows.loc[("oracle", horizon)]

        def share(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0 else a / b

        out.append(
            {
                "horizon": int(horizon),
                "model": model,
                "sharpe": m["sharpe"],
                "sharpe_oracle": o["sharpe"],
                "sharpe_captured": share(m["sharpe"], o["sharpe"]),
                "ic": m["ic"],
                "ic_oracle": o["ic"],
                "ic_captured": share(m["ic"], o["ic"]),
                "hit_edge": None if m["hit_rate"] is None else m["hit_rate"] - 0.5,
                "hit_edge_oracle": None if o["hit_rate"] is None else o["hit_rate"] - 0.5,
            }
        )
    return pd.DataFrame(out)


__all__ = [
    "MODELS",
    "ORACLE_SET",
    "component_predictions",
    "lake_scorecard",
    "majority_scores",
    "oracle_capture",
    "scorecard",
]


def lake_scorecard(
    storage: LakeStorage,
    config: ModelStageConfig,
    signals_config: SignalConfig,
    oracle_seed: int | None,
    history_key: str | None = None,
) -> pd.DataFrame:
    """The scorecard of a lake: signals rebuilt from its predictions and regimes (the signals table holds only the
    materialized days), with the oracle of the simulated world when `oracle_seed` is given (read from the lake
    when the evaluation already computed it: `assets.models.oracle_cache`). The rebuilt history is
    kept under `history_key` (build_history.py), so the signals asset of the same inputs need not build it again;
    without a key it is built in memory only."""
    inputs = load_inputs(storage, config)
    predictions = read_table(storage, storage.uri("gold", "models", "oos_predictions")).to_pandas()
    predictions["trade_date"] = pd.to_datetime(predictions["trade_date"])
    predictions["cutoff"] = pd.to_datetime(predictions["cutoff"])
    regimes = read_table(storage, storage.uri("gold", "models", "regimes")).to_pandas()
    if history_key is None:
        signals, _, _ = run_signals(inputs, predictions, regimes, signals_config, run_id="scorecard")
    else:
        history = signals_history(storage, history_key, inputs, predictions, regimes, signals_config, "scorecard")
        signals = history.signals
    horizons = tuple(int(h) for h in sorted(signals["horizon"].unique()))
    oracle = cached_oracle_scores(storage, oracle_seed, horizons) if oracle_seed is not None else None
    symbols = ORACLE_SYMBOLS if oracle is not None else ()
    return scorecard(signals, inputs.features, inputs.labels, config.evaluation, oracle, symbols, config.workers)
