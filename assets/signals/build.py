"""Assemble the daily signals: walk-forward probabilities, regime, rules, ensemble, confluence, sizing and risk.

Every input is point in time (features known at D, models trained on labels known by their cutoff, regimes
filtered forward, ensemble weights, class priors and decision thresholds learned at the cutoff), and every step
here only looks backwards from D (drawdown of a shadow strategy from realized returns, payoffs and VaR from
trailing returns), so a signal dated D never changes when data after D is cut away. The run id is the only field
that differs between two builds from the same inputs.

Expected move and interval: with the flat band at k*sigma*sqrt(h), the mean size of a directional move is about
sigma*sqrt(h)*phi(k)/(1-Phi(k)) (0.96 sigma sqrt(h) for k = 0.25, assuming normal daily returns); the expected
log return is (p_up - p_down) times that, and the 80% interval is the expected move +- 1.2816 sigma sqrt(h).
"""

from __future__ import annotations

import contextlib
import hashlib
import json

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from assets.models.labels import PERIODS_PER_YEAR, LabelConfig, horizon_labels
from assets.models.worker_pool import forkserver_running, model_pool
from assets.signals.contract import HORIZONS
from assets.signals.decision import (
    DecisionConfig,
    chosen_variant,
    class_counts,
    decide,
    decision_variants,
    learn_thresholds,
)
from assets.signals.ensemble import (
    RULE_COLUMNS,
    EnsembleConfig,
    component_scores,
    confluence,
    ensemble_scores,
    learn_weights,
)
from assets.signals.risk import trailing_var
from assets.signals.rules import RuleConfig, rule_signals
from assets.signals.sizing import DrawdownConfig, SizingConfig, drawdown_states, size_frame

RULE_NAMES = {
    "cot_extreme": "rule_cot_extreme",
    "sentiment_divergence": "rule_sentiment",
    "vix_term_structure": "rule_vix_term_structure",
    "mvrv_zone": "rule_mvrv_zone",
    "eia_surprise": "rule_eia_surprise",
    "ts_momentum": "rule_tsmom",
    "factor_momentum": "rule_factor_momentum",
}
SIGNAL_COLUMNS: tuple[str, ...] = (
    "symbol", "signal_date", "decision_at", "horizon", "direction", "probability", "prob_up", "prob_flat",
    "prob_down", "confidence", "expected_move", "move_low", "move_high", "regime", "regime_probability",
    *RULE_COLUMNS[:2], "sentiment_label", *RULE_COLUMNS[2:], "ensemble_score", "confluence", "size",
    "kelly_fraction", "drawdown_state", "var_95", "var_99", "var_95_parametric", "var_99_parametric", "base_rate",
    "edge", "edge_threshold", "model_prob_up", "model_prob_flat", "model_prob_down", "model_version",
    "feature_snapshot_hash", "run_id",
)  # fmt: skip


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: LabelConfig = LabelConfig()
    rules: RuleConfig = RuleConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    decision: DecisionConfig = DecisionConfig()
    sizing: SizingConfig = SizingConfig(kelly_multiplier=0.5)  # half Kelly: the edge estimates are noisy
    drawdown: DrawdownConfig = DrawdownConfig()
    drawdown_window: int = Field(
        default=252, ge=20, description="trading days of the peak the drawdown is measured from"
    )
    shadow_vol_target: float = Field(default=0.10, gt=0, description="vol target of the shadow strategy")
    shadow_max_leverage: float = Field(default=3.0, gt=0)
    var_window: int = Field(default=250, ge=30, description="trailing daily returns for VaR")
    var_min_obs: int = Field(default=60, ge=10)
    interval_z: float = Field(default=1.2816, gt=0, description="80% interval")


def feature_hashes(features: pd.DataFrame) -> pd.Series:
    """sha256 of each feature row (canonical JSON, NaN as null): what a signal was computed from."""
    columns = sorted(c for c in features.columns if c not in ("decision_at", "max_available_at_used"))
    values = features[columns].copy()
    numeric = values.select_dtypes("number").columns
    values[numeric] = values[numeric] + 0.0  # -0.0 and 0.0 are the same feature value
    records = values.astype(object).where(values.notna(), None)
    out = []
    for row in records.itertuples(index=False, name=None):
        payload = json.dumps(
            [v.isoformat() if hasattr(v, "isoformat") else v for v in row], separators=(",", ":"), default=str
        )
        out.append(hashlib.sha256(payload.encode()).hexdigest())
    return pd.Series(out, index=features.index)


def _rules(features: pd.DataFrame, config: RuleConfig) -> pd.DataFrame:
    rules = rule_signals(features, config).rename(columns=RULE_NAMES)
    rules["trade_date"] = pd.to_datetime(rules["trade_date"])
    return rules


def _shadow_drawdown(features: pd.DataFrame, h1: pd.DataFrame, config: SignalConfig) -> pd.DataFrame:
    """Drawdown state per symbol and day from a vol-targeted shadow of the shortest horizon's decisions.

    The position taken at the close of D-1 (its decided direction, FLAT = none) earns D's return, known at D: the
    state on D uses returns up to D and sizes the signals of D. The drawdown is measured from the peak of the last
    `drawdown_window` days, so a protection state reflects the signal's recent record rather than a peak from
    years ago (the guard's thresholds and hysteresis apply to that drawdown).
    """
    frames = []
    merged = features[["symbol", "trade_date", "ret_1d", "rvol_20d"]].merge(
        h1[["symbol", "trade_date", "sign"]], on=["symbol", "trade_date"], how="left"
    )
    for symbol, rows in merged.groupby("symbol", sort=True):
        rows = rows.sort_values("trade_date")
        lev = (config.shadow_vol_target / rows["rvol_20d"]).clip(upper=config.shadow_max_leverage).fillna(0.0)
        position = (rows["sign"].fillna(0.0) * lev).shift(1).fillna(0.0)
        pnl = (position * rows["ret_1d"].fillna(0.0)).clip(-0.5, 0.5)
        equity = np.exp(pnl.cumsum())
        peak = equity.rolling(config.drawdown_window, min_periods=1).max()
        # the guard measures drawdown from its own running peak: feeding it 1 - recent drawdown (peak 1.0 on the
        # first day) makes its drawdown exactly the drawdown from the recent peak
        states = drawdown_states((equity / peak).to_numpy(), config.drawdown)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": rows["trade_date"].to_numpy(),
                    "drawdown_state": states["state"].to_numpy(),
                    "drawdown_multiplier": states["multiplier"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _move_distribution(features: pd.DataFrame, horizon: int, config: SignalConfig) -> pd.DataFrame:
    """Per symbol and day: the mean size of the trailing h-day rises (up_move) and falls (down_move).

    The h-day log returns ending on each of the last `var_window` days, all known at D: the payoffs Kelly weighs
    the calibrated probabilities with (NaN before `var_min_obs` days of history).
    """
    frame = features[["symbol", "trade_date", "close"]].sort_values(["symbol", "trade_date"])
    logp = np.log(frame["close"].astype("float64"))
    moves = logp - logp.groupby(frame["symbol"]).shift(horizon)
    out = frame[["symbol", "trade_date"]].copy()
    window, least = config.var_window, config.var_min_obs
    for name, part in (("up_move", moves.clip(lower=0.0)), ("down_move", (-moves).clip(lower=0.0))):
        hits = (part > 0).astype("float64").where(moves.notna())
        total = part.groupby(frame["symbol"]).transform(lambda s: s.rolling(window, min_periods=least).sum())
        count = hits.groupby(frame["symbol"]).transform(lambda s: s.rolling(window, min_periods=least).sum())
        out[name] = (total / count.where(count > 0)).to_numpy()
    return out


def unit_var(features: pd.DataFrame, config: SignalConfig) -> pd.DataFrame:
    """Per symbol and day: one-day historical and parametric VaR (95%, 99%) of a unit long and short position.

    Computed by `assets.signals.risk.trailing_var` on the trailing `var_window` daily log returns known at D.
    """
    parts = []
    for symbol, rows in features.sort_values(["symbol", "trade_date"]).groupby("symbol", sort=True):
        values = trailing_var(rows["ret_1d"].to_numpy(float), config.var_window, config.var_min_obs)
        parts.append(pd.DataFrame({"symbol": symbol, "trade_date": rows["trade_date"].to_numpy(), **values}))
    return pd.concat(parts, ignore_index=True)


def size_and_risk(frame: pd.DataFrame, var: pd.DataFrame, config: SignalConfig) -> pd.DataFrame:
    """Signed size, Kelly fraction and VaR per row, with `size_frame` (sizing.py) and the unit VaR of risk.py.

    `frame` needs direction, p_up, p_down, up_move, down_move, regime and drawdown_multiplier. The win probability
    is that of the direction given a directional move; the payoffs are the trailing mean rise and fall.
    """
    up = frame["direction"] == "UP"
    down = frame["direction"] == "DOWN"
    directional = (frame["p_up"] + frame["p_down"]).where(lambda d: d > 0)
    bet = pd.DataFrame(
        {
            "p_win": np.where(up, frame["p_up"], np.where(down, frame["p_down"], np.nan)) / directional,
            "avg_win": np.where(up, frame["up_move"], frame["down_move"]),
            "avg_loss": np.where(up, frame["down_move"], frame["up_move"]),
            "regime": frame["regime"],
            "drawdown_multiplier": frame["drawdown_multiplier"],
            "direction": np.where(up, 1.0, np.where(down, -1.0, 0.0)),
        },
        index=frame.index,
    )
    sized = size_frame(bet, config.sizing)
    out = pd.DataFrame(index=frame.index)
    out["kelly_fraction"] = sized["kelly"]
    out["size"] = sized["signed_size"] + 0.0  # -0.0 is the same size as 0.0
    merged = frame[["symbol", "trade_date"]].merge(var, on=["symbol", "trade_date"], how="left")
    side = np.where(out["size"] < 0, "short", "long")
    for level in (95, 99):
        for method, column in (("historical", f"var_{level}"), ("parametric", f"var_{level}_parametric")):
            unit = np.where(
                side == "short",
                merged[f"{method}_{level}_short"].to_numpy(),
                merged[f"{method}_{level}_long"].to_numpy(),
            )
            out[column] = np.nan_to_num(out["size"].abs().to_numpy() * unit, nan=0.0)
    return out


def build_signals(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    predictions: dict[int, pd.DataFrame],
    regimes: pd.DataFrame,
    *,
    run_id: str,
    config: SignalConfig | None = None,
    feature_worker: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(signals with SIGNAL_COLUMNS, ensemble weights and decision thresholds per horizon and cutoff).

    What comes from the features alone is computed in a worker of the model stage's pool while this process
    decides the horizons, when that pool's server runs in this process already (`nexus run`, a models run; starting
    one costs more than the work): the same values. `feature_worker` True/False chooses (tests)."""
    config = config or SignalConfig()
    features = features.copy()
    features["trade_date"] = pd.to_datetime(features["trade_date"])
    if feature_worker is None:
        feature_worker = forkserver_running()
    with contextlib.ExitStack() as stack:
        pending = None
        if feature_worker:
            pending = stack.enter_context(model_pool(1)).submit(feature_context, features, config)
        decided, weights, thresholds = _decided(features, labels, predictions, config)
        var, hashes = pending.result() if pending is not None else feature_context(features, config)
    return _finished(decided, features, regimes, var, hashes, predictions, run_id, config), weights, thresholds


def feature_context(features: pd.DataFrame, config: SignalConfig) -> tuple[pd.DataFrame, pd.Series]:
    """What the signals take from the features alone: the unit VaR per symbol and day, and each row's hash."""
    return unit_var(features, config), feature_hashes(features)


def _decided(
    features: pd.DataFrame, labels: pd.DataFrame, predictions: dict[int, pd.DataFrame], config: SignalConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every horizon's scores, ensemble and decision: (rows, ensemble weights, thresholds)."""
    rules = _rules(features, config.rules)
    # past decisions are scored as a vol-targeted book, like the evaluation's Sharpe and the shadow strategy
    rvol = features["rvol_20d"].astype("float64")
    vol_sizes = features[["symbol", "trade_date"]].assign(
        weight=(config.shadow_vol_target / rvol.where(rvol > 0)).clip(upper=config.shadow_max_leverage).fillna(0.0)
    )
    parts, weights, thresholds = [], [], []
    for horizon in sorted(predictions):
        preds = predictions[horizon].copy()
        preds["trade_date"] = pd.to_datetime(preds["trade_date"])
        preds["cutoff"] = pd.to_datetime(preds["cutoff"])
        labs = horizon_labels(features, labels, horizon, config.labels)[
            ["symbol", "trade_date", "fwd_ret", "label", "label_end"]
        ]
        scores = component_scores(preds, rules).merge(labs, on=["symbol", "trade_date"], how="left")
        w = learn_weights(scores, config.ensemble)
        w.insert(0, "horizon", horizon)
        weights.append(w)
        scores["ensemble_score"] = ensemble_scores(scores, w[w.columns[1:]]).to_numpy()
        scores = scores.merge(vol_sizes, on=["symbol", "trade_date"], how="left")
        variants = decision_variants(scores, class_counts(labs, scores["cutoff"].unique()), config.decision)
        learned = learn_thresholds(scores, horizon, config.decision, variants)
        chosen = chosen_variant(scores, variants, learned)
        scores = scores.join(chosen[["prior_up", "prior_down", "side", "edge", "pseudo_count"]])
        scores = scores.join(chosen[["p_down", "p_flat", "p_up"]].add_prefix("decision_"))
        scores = scores.join(decide(scores, learned))
        thresholds.append(learned.assign(horizon=horizon))
        moves = _move_distribution(features, horizon, config)
        parts.append(scores.merge(moves, on=["symbol", "trade_date"], how="left", validate="many_to_one"))
    return (
        pd.concat(parts, ignore_index=True),
        pd.concat(weights, ignore_index=True),
        pd.concat(thresholds, ignore_index=True),
    )


def _finished(
    frame: pd.DataFrame,
    features: pd.DataFrame,
    regimes: pd.DataFrame,
    var: pd.DataFrame,
    hashes: pd.Series,
    predictions: dict[int, pd.DataFrame],
    run_id: str,
    config: SignalConfig,
) -> pd.DataFrame:
    """The decided rows with their context, probabilities, regime, drawdown guard, size and VaR."""
    frame["horizon"] = frame["horizon"].astype(int)
    frame["confluence"] = confluence(frame, config.ensemble)

    context = features[["symbol", "trade_date", "calendar", "rvol_20d", "decision_at"]].copy()
    context["feature_snapshot_hash"] = hashes
    frame = frame.merge(context, on=["symbol", "trade_date"], how="left", validate="many_to_one")

    # one probability per signal: the model's calibrated probabilities moved to the instrument's class prior (the
    # ones the edge and the direction were decided on) are what the signal states, sizes and explains; the model's
    # own, relative to the pooled base rate, are kept beside them as model_prob_*
    frame = frame.rename(columns={"p_up": "model_p_up", "p_flat": "model_p_flat", "p_down": "model_p_down"})
    frame = frame.rename(columns={f"decision_p_{side}": f"p_{side}" for side in ("up", "flat", "down")})
    for side in ("up", "flat", "down"):  # rows the decision could not shift (no priors yet) keep the model's own
        frame[f"p_{side}"] = frame[f"p_{side}"].fillna(frame[f"model_p_{side}"])

    # direction: only where the calibrated edge over the class prior clears the walk-forward threshold
    frame["probability"] = np.where(
        frame["direction"] == "UP",
        frame["p_up"],
        np.where(frame["direction"] == "DOWN", frame["p_down"], frame["p_flat"]),
    )
    frame["base_rate"] = np.where(frame["side"] < 0, frame["prior_down"], frame["prior_up"])
    frame["confidence"] = (frame["p_up"] - frame["p_down"]).abs().clip(0, 1)
    ppy = frame["calendar"].map(PERIODS_PER_YEAR).astype(float)
    move = frame["rvol_20d"] / np.sqrt(ppy) * np.sqrt(frame["horizon"])
    k = config.labels.k
    from scipy import stats  # here, not with the definitions

    mean_directional = stats.norm.pdf(k) / stats.norm.sf(k)
    frame["expected_move"] = ((frame["p_up"] - frame["p_down"]) * mean_directional * move).fillna(0.0)
    frame["move_low"] = (frame["expected_move"] - config.interval_z * move).fillna(frame["expected_move"])
    frame["move_high"] = (frame["expected_move"] + config.interval_z * move).fillna(frame["expected_move"])

    # regime at D (filtered; SIDEWAYS with probability 0 before a symbol's first regime fit)
    reg = regimes[["symbol", "trade_date", "regime", "confidence"]].rename(columns={"confidence": "regime_probability"})
    reg = reg.assign(trade_date=pd.to_datetime(reg["trade_date"]))
    frame = frame.merge(reg, on=["symbol", "trade_date"], how="left", validate="many_to_one")
    frame["regime"] = frame["regime"].fillna("SIDEWAYS")
    frame["regime_probability"] = frame["regime_probability"].fillna(0.0).clip(0, 1)

    # drawdown protection from the shadow strategy of the shortest horizon's decisions
    h1 = frame[frame["horizon"] == min(predictions)][["symbol", "trade_date", "sign"]]
    frame = frame.merge(_shadow_drawdown(features, h1, config), on=["symbol", "trade_date"], how="left")
    frame["drawdown_state"] = frame["drawdown_state"].fillna("FULL_SIZE")
    frame["drawdown_multiplier"] = frame["drawdown_multiplier"].fillna(1.0)

    # capped half Kelly (sizing.py) times the regime and drawdown multipliers; VaR of the sized position (risk.py)
    frame = frame.join(size_and_risk(frame, var, config))

    frame["signal_date"] = frame["trade_date"].dt.date
    frame["run_id"] = run_id
    frame = frame.rename(columns={"p_up": "prob_up", "p_flat": "prob_flat", "p_down": "prob_down"})
    frame = frame.rename(columns={f"model_p_{s}": f"model_prob_{s}" for s in ("up", "flat", "down")})
    return frame[list(SIGNAL_COLUMNS)].sort_values(["signal_date", "symbol", "horizon"], ignore_index=True)


__all__ = ["HORIZONS", "SIGNAL_COLUMNS", "SignalConfig", "build_signals", "feature_hashes"]
