"""Out-of-sample evaluation of direction forecasts, per horizon and symbol and pooled, with a leak audit.

Definitions (the same for every horizon h, on walk-forward predictions only):
- direction: predicted UP when score = p_up - p_down > 0, else DOWN.
- balanced_accuracy: directional, on rows whose realized class is UP or DOWN: the mean of the two recalls. Chance is
  0.5 whatever the class balance; `balanced_accuracy_3class` (mean recall over DOWN/FLAT/UP of the argmax class)
  has chance 1/3. The leak audit uses the directional one: real edges in daily markets sit at 0.50 to 0.55, so an
  out-of-sample value above `leak_threshold` (0.60) almost surely means information from the future.
- hit_rate: share of rows where sign(score) equals the sign of the forward return (zeros skipped), against two
  baselines: the majority class (the better constant direction of the same sample, chosen in hindsight, so an upper
  bound on any constant forecast) and momentum (sign of the trailing h-day return).
- ic: Spearman rank correlation of the score with the h-day forward return. Consecutive h-day returns overlap by
  h - 1 days, so the t-statistic uses n_eff = n / h independent observations: t = ic * sqrt((n_eff - 2) / (1 - ic^2)).
  Pooled rows also share dates across symbols, which n / h does not remove: pooled t-statistics are optimistic.
- brier: multiclass Brier score, mean of sum_k (p_k - y_k)^2 (0 best, 2 worst); `brier_climatology` is the same for
  the sample's own class frequencies (a hindsight constant forecast).
- sharpe: following the signal, as h overlapping daily tranches (the position on day D is the mean of sign(score)
  over the last h days), sized to `vol_target` with rvol_20d known at D (capped at `max_leverage`) or one unit, earning
  the next day's return, minus `cost_bps` per unit of turnover; annualized with sqrt(252) or sqrt(365) by calendar,
  and for the pooled equal-weight portfolio with the observed number of dates per year. The same for the momentum
  baseline and a long-only position; a time-series-momentum reference (sign of the 12-month return) is reported
  beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from assets.models.calibration import multiclass_brier
from assets.models.labels import CLASS_NAMES, PERIODS_PER_YEAR, LabelConfig, horizon_labels, normalize_keys

POOLED = "ALL"
STRATEGIES: tuple[str, ...] = ("signal", "momentum", "long_only", "tsmom_12m")


class AuditedGroup(BaseModel):
    """A symbol's horizons whose high out-of-sample balanced accuracy was audited by a person and explained.

    Kept in `resources/config/leak_audits.yaml` with the finding; an audited group passes the leak audit only up to
    `max_balanced_accuracy`, so a further jump is flagged again.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    horizons: tuple[int, ...]
    max_balanced_accuracy: float = Field(gt=0.5, le=1.0)
    source_modes: tuple[str, ...] = Field(default=("simulated", "live", "files"))
    audited_on: str
    finding: str = Field(min_length=20)


class EvaluationConfig(BaseModel):
    """Costs, sizing, binning and the leak audit's threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost_bps: float = Field(default=5.0, ge=0, description="basis points per unit of turnover")
    sizing: Literal["unit", "vol_target"] = "vol_target"
    vol_target: float = Field(default=0.10, gt=0, description="annualized volatility per symbol position")
    max_leverage: float = Field(default=3.0, gt=0)
    min_edge: float = Field(default=0.0, ge=0, description="|p_up - p_down| below this: no position")
    reliability_bins: int = Field(default=10, ge=2, le=50)
    leak_threshold: float = Field(default=0.60, gt=0.5, le=1.0)
    leak_plausible_edge: float = Field(
        default=0.55, gt=0.5, lt=1.0, description="largest balanced accuracy a real daily edge plausibly has"
    )
    leak_min_z: float = Field(
        default=2.0, ge=0, description="standard errors above the plausible edge a flagged group must be"
    )
    leak_audited: tuple[AuditedGroup, ...] = Field(
        default=(), description="groups above the threshold that a person audited and found not to be a leak"
    )
    tsmom_lookback: int = Field(default=250, ge=2, description="trading days of the momentum reference")
    labels: LabelConfig = LabelConfig()


class MetricsRow(BaseModel):
    """One horizon and symbol (or the pooled `ALL`)."""

    horizon: int
    symbol: str
    n: int
    n_directional: int
    start: str | None = None
    end: str | None = None
    balanced_accuracy: float | None = None
    balanced_accuracy_3class: float | None = None
    hit_rate: float | None = None
    hit_rate_majority: float | None = None
    hit_rate_momentum: float | None = None
    ic: float | None = None
    ic_t: float | None = None
    ic_n_eff: float | None = None
    brier: float | None = None
    brier_climatology: float | None = None
    sharpe: float | None = None
    sharpe_momentum: float | None = None
    sharpe_long_only: float | None = None
    ann_return: float | None = None
    turnover: float | None = Field(default=None, description="mean daily turnover of the signal position")


class ReliabilityBin(BaseModel):
    """Predicted versus observed frequency of one class in one probability bin (pooled over symbols)."""

    horizon: int
    cls: str
    bin_lo: float
    bin_hi: float
    n: int
    mean_predicted: float
    observed: float


class StrategyRow(BaseModel):
    """A reference strategy's performance (time-series momentum), per symbol and pooled."""

    strategy: str
    symbol: str
    n_days: int
    sharpe: float | None
    ann_return: float | None
    ann_vol: float | None
    turnover: float | None
    max_drawdown: float | None


class LeakAudit(BaseModel):
    """Flagged when a group's out-of-sample directional balanced accuracy is above the threshold, unexplained."""

    threshold: float
    flagged: bool
    max_balanced_accuracy: float | None
    offenders: list[str] = Field(default_factory=list, description="'h5/SPX: 0.71 (n=1200, z=4.2)'")
    acknowledged: list[str] = Field(default_factory=list, description="above the threshold, audited and explained")
    within_noise: list[str] = Field(default_factory=list, description="above the threshold by chance (small groups)")


class EvaluationReport(BaseModel):
    config: EvaluationConfig
    metrics: list[MetricsRow]
    reliability: list[ReliabilityBin]
    reference: list[StrategyRow]
    leak_audit: LeakAudit

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame([m.model_dump() for m in self.metrics])

    def reliability_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.model_dump() for r in self.reliability])


# -- building blocks (each checked by hand in the tests) -------------------------------------------------------


def _opt(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def directional_balanced_accuracy(score: np.ndarray, label: np.ndarray) -> float:
    """Mean of the UP and DOWN recalls of sign(score) on rows whose realized class is UP (+1) or DOWN (-1)."""
    score = np.asarray(score, dtype="float64")
    label = np.asarray(label, dtype="float64")
    up, down = label == 1, label == -1
    if not up.any() or not down.any():
        return float("nan")
    return float(0.5 * (np.mean(score[up] > 0) + np.mean(score[down] <= 0)))


def balanced_accuracy_3class(pred_class: np.ndarray, label: np.ndarray) -> float:
    """Mean recall over the classes present among the realized labels."""
    pred_class = np.asarray(pred_class, dtype="float64")
    label = np.asarray(label, dtype="float64")
    recalls = [np.mean(pred_class[label == c] == c) for c in (-1, 0, 1) if np.any(label == c)]
    return float(np.mean(recalls)) if recalls else float("nan")


def hit_rate(signal: np.ndarray, fwd_ret: np.ndarray) -> float:
    """Share of rows where sign(signal) == sign(fwd_ret), among rows where both are non-zero and known."""
    signal = np.asarray(signal, dtype="float64")
    fwd_ret = np.asarray(fwd_ret, dtype="float64")
    ok = np.isfinite(signal) & np.isfinite(fwd_ret) & (signal != 0) & (fwd_ret != 0)
    return float(np.mean(np.sign(signal[ok]) == np.sign(fwd_ret[ok]))) if ok.any() else float("nan")


def majority_hit_rate(fwd_ret: np.ndarray) -> float:
    """Hit rate of the better constant direction in hindsight: max(share up, share down) of non-zero returns."""
    fwd_ret = np.asarray(fwd_ret, dtype="float64")
    ok = np.isfinite(fwd_ret) & (fwd_ret != 0)
    if not ok.any():
        return float("nan")
    up = float(np.mean(fwd_ret[ok] > 0))
    return max(up, 1.0 - up)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """`scipy.stats.spearmanr(x, y).statistic` for finite, non-constant x and y, computed as spearmanr does (ranks
    stacked as columns, `np.corrcoef` of them) without its input checks, which cost more than the ranks on the
    scorecard's ~1,500 groups: the same value to the bit (tests/unit/test_evaluation.py)."""
    from scipy.stats import rankdata  # here, not with the definitions

    return float(np.corrcoef(np.column_stack((rankdata(x), rankdata(y))), rowvar=False)[1, 0])


def information_coefficient(score: np.ndarray, fwd_ret: np.ndarray, horizon: int) -> tuple[float, float, float]:
    """(Spearman IC, t-statistic with n_eff = n / horizon for overlapping labels, n_eff)."""
    score = np.asarray(score, dtype="float64")
    fwd_ret = np.asarray(fwd_ret, dtype="float64")
    ok = np.isfinite(score) & np.isfinite(fwd_ret)
    n = int(ok.sum())
    if n < 3 or np.ptp(score[ok]) == 0 or np.ptp(fwd_ret[ok]) == 0:
        return float("nan"), float("nan"), n / horizon
    ic = _spearman(score[ok], fwd_ret[ok])
    n_eff = n / horizon
    t = ic * np.sqrt(max(n_eff - 2.0, 0.0) / max(1.0 - ic**2, 1e-12))
    return ic, float(t), n_eff


def reliability_curve(proba: np.ndarray, label: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per class and equal-width probability bin: count, mean predicted probability, observed frequency."""
    proba = np.asarray(proba, dtype="float64")
    y = np.asarray(label, dtype="float64")
    edges = np.linspace(0.0, 1.0, bins + 1)
    out: list[dict[str, float]] = []
    for k, name in enumerate(CLASS_NAMES):
        p = proba[:, k]
        hit = (y == k - 1).astype("float64")
        idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
        for b in range(bins):
            mask = idx == b
            if mask.any():
                out.append(
                    {
                        "cls": name,
                        "bin_lo": float(edges[b]),
                        "bin_hi": float(edges[b + 1]),
                        "n": int(mask.sum()),
                        "mean_predicted": float(p[mask].mean()),
                        "observed": float(hit[mask].mean()),
                    }
                )
    return out


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> float:
    """Annualized Sharpe ratio of daily returns (sample standard deviation)."""
    returns = np.asarray(returns, dtype="float64")
    returns = returns[np.isfinite(returns)]
    if len(returns) < 2:
        return float("nan")
    sd = returns.std(ddof=1)
    return float(returns.mean() / sd * np.sqrt(periods_per_year)) if sd > 0 else float("nan")


def overlapping_position(signs: np.ndarray, horizon: int) -> np.ndarray:
    """Position of h overlapping tranches: the mean of the last h daily signs (fewer at the start)."""
    return pd.Series(np.asarray(signs, dtype="float64")).rolling(horizon, min_periods=1).sum().to_numpy() / horizon


def strategy_returns(position: np.ndarray, next_return: np.ndarray, cost_bps: float) -> tuple[np.ndarray, np.ndarray]:
    """(daily net returns, turnover): position_D * return(D -> D+1) - cost * |position_D - position_{D-1}|."""
    position = np.nan_to_num(np.asarray(position, dtype="float64"))
    turnover = np.abs(np.diff(position, prepend=0.0))
    gross = position * np.asarray(next_return, dtype="float64")
    return gross - cost_bps * 1e-4 * turnover, turnover


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough fall of the cumulative (log) return, as a negative number."""
    returns = np.nan_to_num(np.asarray(returns, dtype="float64"))
    if len(returns) == 0:
        return float("nan")
    cum = np.cumsum(returns)
    return float(np.min(cum - np.maximum.accumulate(np.maximum(cum, 0.0))))


# -- assembling a horizon's evaluation frame --------------------------------------------------------------------


def _sizing(frame: pd.DataFrame, config: EvaluationConfig) -> np.ndarray:
    if config.sizing == "unit":
        return np.ones(len(frame))
    rvol = frame["rvol_20d"].astype("float64").to_numpy()  # annualized by the symbol's calendar, known at D
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(rvol > 0, config.vol_target / rvol, 0.0)
    return np.nan_to_num(np.minimum(size, config.max_leverage))


def labelled_rows(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: int,
    config: EvaluationConfig,
    symbols: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The feature rows (of `symbols`, or all) sorted by symbol and date, with the horizon's label, forward return
    and next-day return. Every value is computed row by row, so the rows of some symbols taken from this frame
    equal the same computed for those symbols alone: many evaluations of one panel (the scorecard's models)
    compute it once per horizon and pass it to `evaluate`."""
    keep = ["symbol", "trade_date", "calendar", "rvol_20d", "close"]
    base = normalize_keys(features[[c for c in keep if c in features.columns]])
    if symbols is not None:
        base = base[base["symbol"].isin(list(symbols))]
    base = base.sort_values(["symbol", "trade_date"]).reset_index(drop=True)
    labs = horizon_labels(base, labels, horizon, config.labels)
    base["fwd_ret"] = labs["fwd_ret"].to_numpy()
    base["label"] = labs["label"].to_numpy()
    next_day = normalize_keys(labels[["symbol", "trade_date", "fwd_ret_1d"]])
    return base.merge(next_day, on=["symbol", "trade_date"], how="left")


BASELINES: tuple[str, ...] = ("momentum", "long_only", "tsmom_12m")  # the strategies that read no forecast


class BaselineCache:
    """The baseline strategies' positions, returns and turnover (`BASELINES`: none reads a forecast) of one symbol's
    evaluated rows, kept per (horizon, symbol, first and last evaluated date, rows).

    Why: the scorecard evaluates 19 predictions of one panel (13 models, 6 of them again on the oracle's
    instruments), nearly all over the same symbols and spans, and each recomputed the same baselines. A symbol's
    baseline columns depend only on its labelled rows in the span (sizing, trailing returns, next-day returns), so
    a cache is valid for one panel (`labelled_rows` per horizon) and one EvaluationConfig: the caller keeps it
    beside them. Same values as computed afresh (tests/unit/test_evaluation.py)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str, Any, Any, int], dict[str, np.ndarray]] = {}
        self.hits = 0


def _baseline_columns(
    size: np.ndarray, mom: np.ndarray, tsm: np.ndarray, ret1: np.ndarray, horizon: int, cost_bps: float
) -> dict[str, np.ndarray]:
    """One symbol's `pos_`, `pnl_` and `turn_` columns of every baseline strategy."""
    positions = {
        "momentum": overlapping_position(mom, horizon) * size,
        "long_only": np.ones(len(size)) * size,
        "tsmom_12m": tsm * size,
    }
    out: dict[str, np.ndarray] = {}
    for name, position in positions.items():
        pnl, turn = strategy_returns(position, ret1, cost_bps)
        pnl[~np.isfinite(ret1)] = np.nan  # the last day has no next-day return yet
        out[f"pos_{name}"], out[f"pnl_{name}"], out[f"turn_{name}"] = position, pnl, turn
    return out


def evaluation_frame(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: int,
    config: EvaluationConfig,
    labelled: pd.DataFrame | None = None,
    baselines: BaselineCache | None = None,
) -> pd.DataFrame:
    """One horizon: every feature row of a predicted symbol from its first to its last prediction, with the
    forecast (null where none), realized class and returns, trailing returns, and each strategy's daily return.
    `labelled`: `labelled_rows` of the panel for this horizon, when already computed; `baselines`: a cache of the
    baseline strategies' columns for that panel (`BaselineCache`)."""
    preds = normalize_keys(predictions[predictions["horizon"] == horizon])
    symbols = preds["symbol"].unique()
    if labelled is None:
        base = labelled_rows(features, labels, horizon, config, symbols)
    else:
        base = labelled[labelled["symbol"].isin(symbols)].reset_index(drop=True)
    logp = np.log(base["close"].astype("float64")) if "close" in base else pd.Series(np.nan, index=base.index)
    grouped = logp.groupby(base["symbol"])
    base["trailing_ret"] = logp - grouped.shift(horizon)
    base["tsmom_ret"] = logp - grouped.shift(config.tsmom_lookback)
    cols = ["symbol", "trade_date", "p_down", "p_flat", "p_up", "score", "pred_class"]
    base = base.merge(preds[cols], on=["symbol", "trade_date"], how="left")
    span = preds.groupby("symbol")["trade_date"].agg(["min", "max"])
    lo = base["symbol"].map(span["min"])
    hi = base["symbol"].map(span["max"])
    base = base[(base["trade_date"] >= lo) & (base["trade_date"] <= hi)].reset_index(drop=True)

    size = _sizing(base, config)
    score = base["score"].astype("float64").fillna(0.0).to_numpy()
    sign = np.where(np.abs(score) > config.min_edge, np.sign(score), 0.0)
    mom = np.sign(base["trailing_ret"].astype("float64").fillna(0.0).to_numpy())
    tsm = np.sign(base["tsmom_ret"].astype("float64").fillna(0.0).to_numpy())
    ret1 = base["fwd_ret_1d"].astype("float64").to_numpy()
    dates = base["trade_date"].to_numpy()
    names = [f"pos_{n}" for n in STRATEGIES] + [f"{kind}_{n}" for n in STRATEGIES for kind in ("pnl", "turn")]
    columns = {name: np.empty(len(base)) for name in names}  # in the order the frame always had them
    for symbol, idx in base.groupby("symbol").indices.items():  # grouped once, not once per strategy and symbol
        position = overlapping_position(sign[idx], horizon) * size[idx]
        pnl, turn = strategy_returns(position, ret1[idx], config.cost_bps)
        pnl[~np.isfinite(ret1[idx])] = np.nan  # the last day has no next-day return yet
        own = {"pos_signal": position, "pnl_signal": pnl, "turn_signal": turn}
        key = (horizon, str(symbol), dates[idx[0]], dates[idx[-1]], len(idx))
        cached = None if baselines is None else baselines.entries.get(key)
        if cached is None:
            cached = _baseline_columns(size[idx], mom[idx], tsm[idx], ret1[idx], horizon, config.cost_bps)
            if baselines is not None:
                baselines.entries[key] = cached
        elif baselines is not None:
            baselines.hits += 1
        for column, values in (own | cached).items():
            columns[column][idx] = values
    return pd.concat([base, pd.DataFrame(columns)], axis=1)


def pooled_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """Equal-weight portfolio: per date, the mean daily return of each strategy over the symbols trading that day."""
    cols = [f"pnl_{s}" for s in STRATEGIES]
    daily = frame.groupby("trade_date", sort=True)[cols].mean()
    daily.columns = list(STRATEGIES)
    return daily


def _periods_per_year(dates: pd.Series) -> float:
    dates = pd.to_datetime(pd.Series(dates)).drop_duplicates()
    span_days = (dates.max() - dates.min()).days if len(dates) > 1 else 0
    return len(dates) / (span_days / 365.25) if span_days > 0 else 252.0


def _group_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of an evaluation frame that the metrics read, as arrays, taken once per frame.

    A symbol's group is then these arrays at its row positions, not a sub-frame: the scorecard evaluates ~1,300
    groups, and building sub-frames and reading their columns one by one was most of its time. The same values
    reach the same functions in the same order, so every figure is as before."""
    out = {
        "score": frame["score"].to_numpy(),
        "has_score": frame["score"].notna().to_numpy(),
        "has_label": frame["label"].notna().to_numpy(),
        "label": frame["label"].astype("float64").to_numpy(),
        "fwd_ret": frame["fwd_ret"].astype("float64").to_numpy(),
        "proba": frame[["p_down", "p_flat", "p_up"]].to_numpy(dtype="float64"),
        "pred_class": frame["pred_class"].to_numpy(),
        "trailing_ret": frame["trailing_ret"].to_numpy(),
        "trade_date": frame["trade_date"].to_numpy(),
        "calendar": frame["calendar"].to_numpy(),
    }
    for name in STRATEGIES:
        out[f"pnl_{name}"] = frame[f"pnl_{name}"].to_numpy()
        out[f"turn_{name}"] = frame[f"turn_{name}"].to_numpy()
    return out


def _group_metrics(
    columns: Mapping[str, np.ndarray], horizon: int, symbol: str, ppy: float, daily: Mapping[str, Any]
) -> MetricsRow:
    """`columns`: a group's `_group_columns`; `daily`: each strategy's daily returns (a frame or arrays; only the
    values are read)."""
    has_score = columns["has_score"]
    has_label = has_score & columns["has_label"]
    score = columns["score"]
    label = columns["label"][has_label]
    fwd = columns["fwd_ret"][has_score]
    ic, t, n_eff = information_coefficient(score[has_score], fwd, horizon)
    proba = columns["proba"][has_label]
    y = (label + 1).astype(int)
    brier = multiclass_brier(proba, y) if len(y) else float("nan")
    if len(y):
        freq = np.bincount(y, minlength=3) / len(y)
        clim = multiclass_brier(np.tile(freq, (len(y), 1)), y)
    else:
        clim = float("nan")
    sig = np.asarray(daily["signal"])
    n = int(has_score.sum())
    dates = columns["trade_date"][has_score] if n else None
    turnover = columns["turn_signal"]
    return MetricsRow(
        horizon=horizon,
        symbol=symbol,
        n=n,
        n_directional=int(np.isin(label, (-1, 1)).sum()),
        start=str(pd.Timestamp(dates.min()).date()) if dates is not None else None,
        end=str(pd.Timestamp(dates.max()).date()) if dates is not None else None,
        balanced_accuracy=_opt(directional_balanced_accuracy(score[has_label], label)),
        balanced_accuracy_3class=_opt(balanced_accuracy_3class(columns["pred_class"][has_label], label)),
        hit_rate=_opt(hit_rate(score[has_score], fwd)),
        hit_rate_majority=_opt(majority_hit_rate(fwd)),
        hit_rate_momentum=_opt(hit_rate(columns["trailing_ret"][has_score], fwd)),
        ic=_opt(ic),
        ic_t=_opt(t),
        ic_n_eff=_opt(n_eff),
        brier=_opt(brier),
        brier_climatology=_opt(clim),
        sharpe=_opt(sharpe_ratio(sig, ppy)),
        sharpe_momentum=_opt(sharpe_ratio(np.asarray(daily["momentum"]), ppy)),
        sharpe_long_only=_opt(sharpe_ratio(np.asarray(daily["long_only"]), ppy)),
        ann_return=_opt(np.nanmean(sig) * ppy) if len(sig) else None,
        turnover=_opt(pd.Series(turnover).mean()) if len(turnover) else None,
    )


def _strategy_row(name: str, symbol: str, returns: np.ndarray, turnover: float, ppy: float) -> StrategyRow:
    r = np.asarray(returns, dtype="float64")
    r = r[np.isfinite(r)]
    return StrategyRow(
        strategy=name,
        symbol=symbol,
        n_days=len(r),
        sharpe=_opt(sharpe_ratio(r, ppy)),
        ann_return=_opt(r.mean() * ppy) if len(r) else None,
        ann_vol=_opt(r.std(ddof=1) * np.sqrt(ppy)) if len(r) > 1 else None,
        turnover=_opt(turnover),
        max_drawdown=_opt(max_drawdown(r)),
    )


def balanced_accuracy_se(n_directional: int, horizon: int) -> float:
    """Standard error of a balanced accuracy near 0.5, with n_eff = n_directional / horizon for overlapping labels."""
    return 0.5 / float(np.sqrt(max(n_directional / horizon, 1.0)))


def leak_result(
    metrics: Sequence[MetricsRow],
    config: EvaluationConfig,
    offenders: list[str],
    acknowledged: list[str],
    within_noise: list[str],
) -> LeakAudit:
    """The audit's verdict from its lists, with the highest balanced accuracy of any group."""
    values = [m.balanced_accuracy for m in metrics if m.balanced_accuracy is not None]
    return LeakAudit(
        threshold=config.leak_threshold,
        flagged=bool(offenders),
        max_balanced_accuracy=max(values) if values else None,
        offenders=offenders,
        acknowledged=acknowledged,
        within_noise=within_noise,
    )


def leak_audit(metrics: Sequence[MetricsRow], config: EvaluationConfig | None = None) -> LeakAudit:
    """Flag every group (horizon x symbol, and pooled) whose directional balanced accuracy exceeds the threshold.

    Two exceptions, each listed in the result: a group too small for its value to mean anything (fewer than
    `leak_min_z` standard errors above `leak_plausible_edge`, with n_eff = n_directional / horizon for overlapping
    labels: one symbol at D+10 over a year has ~25 effective rows), and a group a person audited and explained
    (`leak_audited`, up to the accuracy they accepted). Everything else above the threshold fails the audit.
    """
    config = config or EvaluationConfig()
    offenders, acknowledged, noise = [], [], []
    for m in metrics:
        ba = m.balanced_accuracy
        if ba is None or ba <= config.leak_threshold:
            continue
        z = (ba - config.leak_plausible_edge) / balanced_accuracy_se(m.n_directional, m.horizon)
        label = f"h{m.horizon}/{m.symbol}: {ba:.3f} (n={m.n_directional}, z={z:.1f})"
        audited = next((a for a in config.leak_audited if a.symbol == m.symbol and m.horizon in a.horizons), None)
        if z < config.leak_min_z:
            noise.append(label)
        elif audited is not None and ba <= audited.max_balanced_accuracy:
            acknowledged.append(f"{label}; audited {audited.audited_on}: {audited.finding}")
        else:
            offenders.append(label)
    return leak_result(metrics, config, offenders, acknowledged, noise)


def load_leak_audits(path: Path, source_mode: str) -> tuple[AuditedGroup, ...]:
    """The audited groups of `path` that apply to `source_mode` (none when the file does not exist)."""
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = tuple(AuditedGroup.model_validate(g) for g in data.get("audited", []))
    return tuple(g for g in groups if source_mode in g.source_modes)


def evaluate(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: EvaluationConfig | None = None,
    labelled: Mapping[int, pd.DataFrame] | None = None,
    baselines: BaselineCache | None = None,
) -> EvaluationReport:
    """Metrics for every horizon in `predictions` (walk-forward output, any number of horizons), per symbol and
    pooled, the pooled reliability curves, the time-series-momentum reference and the leak audit. `labelled`:
    `labelled_rows` per horizon, and `baselines` a cache of the baseline strategies (`BaselineCache`), when the
    caller evaluates many predictions of one panel."""
    config = config or EvaluationConfig()
    metrics: list[MetricsRow] = []
    reliability: list[ReliabilityBin] = []
    reference: list[StrategyRow] = []
    horizons = sorted(int(h) for h in predictions["horizon"].unique())
    for h in horizons:
        frame = evaluation_frame(predictions, features, labels, h, config, (labelled or {}).get(h), baselines)
        columns = _group_columns(frame)
        groups = frame.groupby("symbol", sort=True).indices
        for symbol in sorted(groups):
            rows = {name: values[groups[symbol]] for name, values in columns.items()}
            ppy = float(PERIODS_PER_YEAR[str(rows["calendar"][0])])
            daily = {s: rows[f"pnl_{s}"] for s in STRATEGIES}
            metrics.append(_group_metrics(rows, h, str(symbol), ppy, daily))
            if h == horizons[0]:
                turnover = pd.Series(rows["turn_tsmom_12m"]).mean()
                reference.append(_strategy_row("tsmom_12m", str(symbol), daily["tsmom_12m"], turnover, ppy))
        pooled = pooled_returns(frame)
        ppy_pooled = _periods_per_year(frame["trade_date"])
        metrics.append(_group_metrics(columns, h, POOLED, ppy_pooled, pooled))
        if h == horizons[0]:
            turnover = float(frame.groupby("trade_date")["turn_tsmom_12m"].mean().mean())
            reference.append(_strategy_row("tsmom_12m", POOLED, pooled["tsmom_12m"].to_numpy(), turnover, ppy_pooled))
        known = frame[frame["score"].notna() & frame["label"].notna()]
        proba = known[["p_down", "p_flat", "p_up"]].to_numpy(dtype="float64")
        label = known["label"].astype("float64").to_numpy()
        for row in reliability_curve(proba, label, config.reliability_bins):
            reliability.append(ReliabilityBin(horizon=h, **row))
    return EvaluationReport(
        config=config,
        metrics=metrics,
        reliability=reliability,
        reference=reference,
        leak_audit=leak_audit(metrics, config),
    )


def cumulative_returns(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: EvaluationConfig | None = None,
    labelled: Mapping[int, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Pooled cumulative (log) returns per horizon and strategy: columns horizon, trade_date, strategy, cum_return.
    `labelled`: `labelled_rows` per horizon, when `evaluate` of the same predictions already computed them."""
    config = config or EvaluationConfig()
    parts = []
    for h in sorted(int(x) for x in predictions["horizon"].unique()):
        frame = evaluation_frame(predictions, features, labels, h, config, (labelled or {}).get(h))
        pooled = pooled_returns(frame).fillna(0.0).cumsum()
        long = pooled.reset_index().melt(id_vars="trade_date", var_name="strategy", value_name="cum_return")
        long.insert(0, "horizon", h)
        parts.append(long)
    columns = ["horizon", "trade_date", "strategy", "cum_return"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


__all__ = [
    "BASELINES",
    "POOLED",
    "STRATEGIES",
    "AuditedGroup",
    "BaselineCache",
    "EvaluationConfig",
    "EvaluationReport",
    "LeakAudit",
    "MetricsRow",
    "ReliabilityBin",
    "StrategyRow",
    "balanced_accuracy_3class",
    "cumulative_returns",
    "directional_balanced_accuracy",
    "evaluate",
    "evaluation_frame",
    "hit_rate",
    "information_coefficient",
    "labelled_rows",
    "leak_audit",
    "load_leak_audits",
    "majority_hit_rate",
    "max_drawdown",
    "overlapping_position",
    "pooled_returns",
    "reliability_curve",
    "sharpe_ratio",
    "strategy_returns",
]
