"""Assemble the daily signals: walk-forward probabilities, regime, rules, ensemble, confluence, sizing and risk.

Every input is point in time (features known at D, models trained on labels known by their cutoff, regimes
filtered forward, weights learned at the cutoff), and every step here only looks backwards from D (drawdown of a
shadow strategy from realized returns, VaR from trailing returns), so a signal dated D never changes when data
after D is cut away. The run id is the only field that differs between two builds from the same inputs.

Expected move and interval: with the flat band at k*sigma*sqrt(h), the mean size of a directional move is about
sigma*sqrt(h)*phi(k)/(1-Phi(k)) (0.96 sigma sqrt(h) for k = 0.25, assuming normal daily returns); the expected
log return is (p_up - p_down) times that, and the 80% interval is the expected move +- 1.2816 sigma sqrt(h).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from assets.models.labels import PERIODS_PER_YEAR, LabelConfig, horizon_labels
from assets.signals.contract import HORIZONS
from assets.signals.ensemble import (
    RULE_COLUMNS,
    EnsembleConfig,
    component_scores,
    confluence,
    ensemble_scores,
    learn_weights,
)
from assets.signals.rules import RuleConfig, rule_signals
from assets.signals.sizing import DrawdownConfig, SizingConfig, drawdown_states, regime_multiplier

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
    "kelly_fraction", "drawdown_state", "var_95", "var_99", "model_version", "feature_snapshot_hash", "run_id",
)  # fmt: skip


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: LabelConfig = LabelConfig()
    rules: RuleConfig = RuleConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
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
    """Drawdown state per symbol and day from a vol-targeted shadow of the D+1 model signal.

    The position taken at the close of D-1 (sign of its D+1 score) earns D's return, known at D: the state on D
    uses returns up to D and sizes the signals of D. The drawdown is measured from the peak of the last
    `drawdown_window` days, so a protection state reflects the signal's recent record rather than a peak from
    years ago (the guard's thresholds and hysteresis apply to that drawdown).
    """
    frames = []
    merged = features[["symbol", "trade_date", "ret_1d", "rvol_20d"]].merge(
        h1[["symbol", "trade_date", "score"]], on=["symbol", "trade_date"], how="left"
    )
    for symbol, rows in merged.groupby("symbol", sort=True):
        rows = rows.sort_values("trade_date")
        lev = (config.shadow_vol_target / rows["rvol_20d"]).clip(upper=config.shadow_max_leverage).fillna(0.0)
        position = (np.sign(rows["score"].fillna(0.0)) * lev).shift(1).fillna(0.0)
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


def _trailing_var(features: pd.DataFrame, config: SignalConfig) -> pd.DataFrame:
    """Per symbol and day: the historical 95% and 99% one-day loss quantiles of a unit position (trailing)."""
    out = features[["symbol", "trade_date"]].copy()
    grouped = features.sort_values(["symbol", "trade_date"]).groupby("symbol")["ret_1d"]
    for level, name in ((0.05, "q95"), (0.01, "q99")):
        q = grouped.transform(
            lambda s, lv=level: s.rolling(config.var_window, min_periods=config.var_min_obs).quantile(lv)
        )
        out[name] = (-q).clip(lower=0.0).reindex(out.index)
    return out


def build_signals(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    predictions: dict[int, pd.DataFrame],
    regimes: pd.DataFrame,
    *,
    run_id: str,
    config: SignalConfig | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(signals with SIGNAL_COLUMNS, ensemble weights per horizon and cutoff) for every predicted row."""
    config = config or SignalConfig()
    features = features.copy()
    features["trade_date"] = pd.to_datetime(features["trade_date"])
    rules = _rules(features, config.rules)
    parts, weights = [], []
    for horizon in sorted(predictions):
        preds = predictions[horizon].copy()
        preds["trade_date"] = pd.to_datetime(preds["trade_date"])
        preds["cutoff"] = pd.to_datetime(preds["cutoff"])
        labs = horizon_labels(features, labels, horizon, config.labels)[
            ["symbol", "trade_date", "fwd_ret", "label_end"]
        ]
        scores = component_scores(preds, rules).merge(labs, on=["symbol", "trade_date"], how="left")
        w = learn_weights(scores, config.ensemble)
        w.insert(0, "horizon", horizon)
        weights.append(w)
        scores["ensemble_score"] = ensemble_scores(scores, w[w.columns[1:]]).to_numpy()
        parts.append(scores)
    frame = pd.concat(parts, ignore_index=True)
    frame["horizon"] = frame["horizon"].astype(int)
    frame["confluence"] = confluence(frame, config.ensemble)

    context = features[["symbol", "trade_date", "calendar", "rvol_20d", "decision_at"]].copy()
    context["feature_snapshot_hash"] = feature_hashes(features)
    frame = frame.merge(context, on=["symbol", "trade_date"], how="left", validate="many_to_one")

    # direction and calibrated probability
    probs = frame[["p_down", "p_flat", "p_up"]].to_numpy(float)
    best = probs.argmax(axis=1)
    frame["direction"] = np.array(["DOWN", "FLAT", "UP"])[best]
    frame["probability"] = probs[np.arange(len(frame)), best]
    frame["confidence"] = (frame["p_up"] - frame["p_down"]).abs().clip(0, 1)
    ppy = frame["calendar"].map(PERIODS_PER_YEAR).astype(float)
    move = frame["rvol_20d"] / np.sqrt(ppy) * np.sqrt(frame["horizon"])
    k = config.labels.k
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

    # drawdown protection from the shadow strategy of the D+1 model
    h1 = predictions[min(predictions)].assign(trade_date=lambda d: pd.to_datetime(d["trade_date"]))
    frame = frame.merge(_shadow_drawdown(features, h1, config), on=["symbol", "trade_date"], how="left")
    frame["drawdown_state"] = frame["drawdown_state"].fillna("FULL_SIZE")
    frame["drawdown_multiplier"] = frame["drawdown_multiplier"].fillna(1.0)

    # capped Kelly on the directional odds, times the regime and drawdown multipliers
    directional = frame["p_up"] + frame["p_down"]
    p_win = np.where(frame["direction"] == "UP", frame["p_up"], frame["p_down"]) / directional.where(directional > 0)
    kelly = (2 * pd.Series(p_win, index=frame.index) - 1).clip(lower=0) * config.sizing.kelly_multiplier
    kelly = kelly.clip(upper=config.sizing.kelly_cap).fillna(0.0)
    kelly[frame["direction"] == "FLAT"] = 0.0
    reg_mult = frame["regime"].map(lambda r: regime_multiplier(r, config.sizing)).astype(float)
    size = (kelly * reg_mult * frame["drawdown_multiplier"]).clip(0, config.sizing.kelly_cap)
    frame["kelly_fraction"] = kelly
    frame["size"] = np.where(frame["direction"] == "DOWN", -size, np.where(frame["direction"] == "UP", size, 0.0))

    var = _trailing_var(features, config)
    frame = frame.merge(var, on=["symbol", "trade_date"], how="left", validate="many_to_one")
    frame["var_95"] = (frame["size"].abs() * frame["q95"]).fillna(0.0)
    frame["var_99"] = (frame["size"].abs() * frame["q99"]).fillna(0.0)

    frame["signal_date"] = frame["trade_date"].dt.date
    frame["run_id"] = run_id
    frame = frame.rename(columns={"p_up": "prob_up", "p_flat": "prob_flat", "p_down": "prob_down"})
    out = frame[list(SIGNAL_COLUMNS)].sort_values(["signal_date", "symbol", "horizon"], ignore_index=True)
    return out, pd.concat(weights, ignore_index=True)


__all__ = ["HORIZONS", "SIGNAL_COLUMNS", "SignalConfig", "build_signals", "feature_hashes"]
