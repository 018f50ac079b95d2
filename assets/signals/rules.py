"""Rule signals: transparent, hand-written views on the features frame, each a score in [-1, 1] per row.

Conventions shared by every rule:
- +1 is a full long view, -1 a full short view, 0 no view.
- 0 when the rule does not apply to the instrument (MVRV on an equity, EIA on the euro, VIX term structure on
  gold) or when it applies and its condition is not met; NaN when it applies but an input it needs is missing
  (no 52 weeks of positioning yet, no CFTC market at all, a stale report). Downstream can tell "no view" from
  "cannot tell".
- A rule reads only the row's own date and earlier rows of the same frame (sentiment looks back at positioning,
  factor momentum carries other calendars' last known values forward), so a score for D is known at D.
- Thresholds live in pydantic configs; the defaults are the documented rule.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SentimentLabel(StrEnum):
    """Price momentum against the change in speculators' positioning."""

    DISTRIBUTION = "DISTRIBUTION"  # price up, speculators cutting: the rally is being sold into (bearish)
    ACCUMULATION = "ACCUMULATION"  # price down, speculators adding: the dip is being bought (bullish)
    CONFIRMATION = "CONFIRMATION"  # both the same way: the trend has the crowd behind it (trend-following)
    NEUTRAL = "NEUTRAL"  # either move inside its dead band


class CotExtremeConfig(_Strict):
    """Contrarian to speculators at 52-week extremes, stronger when smart money takes the other side."""

    z_threshold: float = Field(1.5, gt=0, description="|cot_spec_z52| beyond this is an extreme")
    confirm_z: float = Field(1.0, ge=0, description="cot_divergence_z52 beyond this, against the crowd, confirms")
    confirmed_score: float = Field(1.0, gt=0, le=1)
    unconfirmed_score: float = Field(0.5, ge=0, le=1)
    max_report_age_days: float = Field(21, gt=0, description="older positioning (a missed release) is unknown: NaN")


class SentimentConfig(_Strict):
    """DISTRIBUTION / ACCUMULATION / CONFIRMATION from momentum sign versus the speculators' positioning change."""

    momentum_column: str = "ret_20d"
    min_abs_momentum: float = Field(0.0, ge=0, description="|momentum| at or below: NEUTRAL")
    change_days: int = Field(28, ge=1, description="positioning change over this many calendar days (4 reports)")
    min_abs_change: float = Field(0.01, ge=0, description="|change in spec net share of OI| at or below: NEUTRAL")
    divergence_score: float = Field(1.0, gt=0, le=1)
    confirmation_score: float = Field(0.5, ge=0, le=1)


class VixTermConfig(_Strict):
    """VIX above VIX3M (backwardation) marks capitulation; equity indices tend to rebound."""

    asset_classes: tuple[str, ...] = ("equity",)
    threshold: float = Field(1.0, gt=0, description="vix_vix3m_ratio above this is backwardation")
    full_score_ratio: float = Field(1.05, gt=0, description="ratio at which the score reaches +1 (linear ramp)")

    @model_validator(mode="after")
    def _ramp(self) -> VixTermConfig:
        if self.full_score_ratio <= self.threshold:
            raise ValueError("full_score_ratio must be above threshold")
        return self


class MvrvConfig(_Strict):
    """On-chain valuation: market over realized value far above its year is late-cycle (bearish), far below early."""

    asset_classes: tuple[str, ...] = ("crypto",)
    neutral_z: float = Field(0.5, ge=0, description="|mvrv_z365| at or below: no view")
    extreme_z: float = Field(2.0, gt=0, description="|mvrv_z365| at which the score reaches -/+1")

    @model_validator(mode="after")
    def _ramp(self) -> MvrvConfig:
        if self.extreme_z <= self.neutral_z:
            raise ValueError("extreme_z must be above neutral_z")
        return self


class EiaSurpriseConfig(_Strict):
    """A crude build above the seasonal norm is bearish for crude, a draw bullish, for a few days after release."""

    symbols: tuple[str, ...] = ("WTI", "BRENT")
    max_days_since_release: float = Field(
        5, ge=0, description="energy_days_since_release in [0, this]: the days after a release that carry a view"
    )
    min_abs_z: float = Field(0.5, ge=0, description="|crude_surprise_z| below this: no view")
    full_z: float = Field(2.0, gt=0, description="|crude_surprise_z| at which the score reaches -/+1")


class TsMomentumConfig(_Strict):
    """Time-series momentum: each lookback's return in units of its own expected volatility, then combined."""

    lookbacks: dict[str, int] = Field(
        default_factory=lambda: {"ret_20d": 20, "ret_60d": 60, "ret_250d": 250},
        description="return column -> its length in trading days (1, 3 and 12 months)",
    )
    weights: dict[str, float] = Field(default_factory=lambda: {"ret_20d": 1.0, "ret_60d": 1.0, "ret_250d": 1.0})
    vol_column: str = "rvol_60d"
    fallback_vol_column: str = "rvol_20d"
    full_z: float = Field(2.0, gt=0, description="a lookback's vol-scaled return at which its score reaches +-1")
    periods_per_year: dict[str, int] = Field(default_factory=lambda: {"NYSE": 252, "CRYPTO": 365})

    @model_validator(mode="after")
    def _weights(self) -> TsMomentumConfig:
        if set(self.weights) != set(self.lookbacks) or any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must give a non-negative weight to every lookback")
        return self


class FactorMomentumConfig(_Strict):
    """Asset-class momentum: long the classes with the best mean 12-month return, short the worst."""

    return_column: str = "ret_250d"
    top_k: int = Field(2, ge=1, description="classes long and classes short (at most half the ranked classes)")
    min_classes: int = Field(4, ge=2, description="fewer ranked classes on a date: NaN")
    exclude_asset_classes: tuple[str, ...] = Field(
        ("volatility",), description="not ranked, score 0: the VIX index is not an investable, trending asset"
    )
    carry_forward_rows: int = Field(
        5, ge=0, description="a symbol's last value is used this many rows of the union of dates (weekends)"
    )


class RuleConfig(_Strict):
    """All rule thresholds; `rule_signals` uses one of these."""

    cot: CotExtremeConfig = CotExtremeConfig()
    sentiment: SentimentConfig = SentimentConfig()
    vix: VixTermConfig = VixTermConfig()
    mvrv: MvrvConfig = MvrvConfig()
    eia: EiaSurpriseConfig = EiaSurpriseConfig()
    ts_momentum: TsMomentumConfig = TsMomentumConfig()
    factor_momentum: FactorMomentumConfig = FactorMomentumConfig()


RULE_COLUMNS = (
    "cot_extreme",
    "sentiment_divergence",
    "vix_term_structure",
    "mvrv_zone",
    "eia_surprise",
    "ts_momentum",
    "factor_momentum",
)


class RuleSignalRow(_Strict):
    """One row of `rule_signals`: the contract later stages read. Scores are in [-1, 1] or None (cannot tell)."""

    symbol: str
    trade_date: date
    cot_extreme: float | None
    sentiment_divergence: float | None
    sentiment_label: SentimentLabel | None
    vix_term_structure: float | None
    mvrv_zone: float | None
    eia_surprise: float | None
    ts_momentum: float | None
    factor_momentum: float | None


# ---------------------------------------------------------------------------------------------------------- rules


def cot_extreme(features: pd.DataFrame, config: CotExtremeConfig | None = None) -> pd.Series:
    """Contrarian to speculators beyond +-z_threshold of their 52-week z-score.

    score = -sign(cot_spec_z52) * (confirmed_score if cot_divergence_z52 is at least confirm_z on the side
    against the crowd, else unconfirmed_score) when |cot_spec_z52| > z_threshold; 0 inside; NaN without
    positioning or with a report older than max_report_age_days.
    """
    config = config or CotExtremeConfig()
    spec = _num(features, "cot_spec_z52")
    div = _num(features, "cot_divergence_z52")
    age = _num(features, "cot_days_since_report")
    direction = -np.sign(spec)
    extreme = spec.abs() > config.z_threshold
    confirmed = (div * direction) >= config.confirm_z  # NaN divergence compares False: unconfirmed
    score = np.where(confirmed, config.confirmed_score, config.unconfirmed_score) * direction
    out = pd.Series(np.where(extreme, score, 0.0), index=features.index, dtype=float)
    stale = age > config.max_report_age_days
    return out.mask(spec.isna() | stale)


def sentiment_divergence(features: pd.DataFrame, config: SentimentConfig | None = None) -> tuple[pd.Series, pd.Series]:
    """Score and label from the sign of price momentum versus the change in speculators' net share of OI.

    The change is cot_spec_net_share at D minus its last value at or before D - change_days (same symbol).
    DISTRIBUTION (momentum up, positioning down): -divergence_score. ACCUMULATION (momentum down, positioning up):
    +divergence_score. CONFIRMATION (same sign): confirmation_score in the momentum's direction. NEUTRAL (either
    inside its dead band): 0. Missing momentum or positioning: NaN score, null label.
    """
    config = config or SentimentConfig()
    momentum = _num(features, config.momentum_column)
    change = _positioning_change(features, config.change_days)
    up = momentum > config.min_abs_momentum
    down = momentum < -config.min_abs_momentum
    adding = change > config.min_abs_change
    cutting = change < -config.min_abs_change
    conditions = [up & cutting, down & adding, (up & adding) | (down & cutting)]
    labels = np.select(
        conditions,
        [SentimentLabel.DISTRIBUTION.value, SentimentLabel.ACCUMULATION.value, SentimentLabel.CONFIRMATION.value],
        default=SentimentLabel.NEUTRAL.value,
    )
    scores = np.select(
        conditions,
        [-config.divergence_score, config.divergence_score, config.confirmation_score * np.sign(momentum)],
        default=0.0,
    )
    missing = (momentum.isna() | change.isna()).to_numpy()
    score = pd.Series(np.where(missing, np.nan, scores), index=features.index, dtype=float)
    label = pd.Series(np.where(missing, None, labels), index=features.index, dtype=object)
    return score, label


def vix_term_structure(features: pd.DataFrame, config: VixTermConfig | None = None) -> pd.Series:
    """Backwardation is bullish for equity indices: a linear ramp from 0 at `threshold` to +1 at full_score_ratio.

    Uses vix_vix3m_ratio, or the vix_backwardation flag (1 -> +1) when the ratio is missing. Contango: 0.
    Other asset classes: 0. An equity index without either input: NaN.
    """
    config = config or VixTermConfig()
    ratio = _num(features, "vix_vix3m_ratio")
    flag = _num(features, "vix_backwardation")
    ramp = ((ratio - config.threshold) / (config.full_score_ratio - config.threshold)).clip(0.0, 1.0)
    score = ramp.where(ratio.notna(), flag.clip(0.0, 1.0))
    applies = _applies(features, config.asset_classes)
    return pd.Series(np.where(applies, score, 0.0), index=features.index, dtype=float)


def mvrv_zone(features: pd.DataFrame, config: MvrvConfig | None = None) -> pd.Series:
    """Crypto only: -sign(z) * min(1, (|z| - neutral_z) / (extreme_z - neutral_z)) beyond the neutral zone.

    z = mvrv_z365: high (market cap far above realized cap for the year) bearish, low bullish. Other classes: 0.
    """
    config = config or MvrvConfig()
    z = _num(features, "mvrv_z365")
    strength = ((z.abs() - config.neutral_z) / (config.extreme_z - config.neutral_z)).clip(0.0, 1.0)
    score = -np.sign(z) * strength
    applies = _applies(features, config.asset_classes)
    return pd.Series(np.where(applies, score, 0.0), index=features.index, dtype=float)


def eia_surprise(features: pd.DataFrame, config: EiaSurpriseConfig | None = None) -> pd.Series:
    """Crude instruments only, in the days after a weekly petroleum release: -sign(z) * min(1, |z| / full_z).

    z = crude_surprise_z (stock change minus the seasonal norm, in sd): a build above norm is bearish. |z| under
    min_abs_z, or more than max_days_since_release days after the release: 0. Other instruments: 0.
    """
    config = config or EiaSurpriseConfig()
    z = _num(features, "crude_surprise_z")
    days = _num(features, "energy_days_since_release")
    score = (-np.sign(z) * (z.abs() / config.full_z).clip(upper=1.0)).where(z.abs() >= config.min_abs_z, 0.0)
    score = score.where(z.notna())
    fresh = (days >= 0) & (days <= config.max_days_since_release)
    score = score.where(fresh, 0.0).where(days.notna())
    applies = features["symbol"].isin(config.symbols).to_numpy()
    return pd.Series(np.where(applies, score, 0.0), index=features.index, dtype=float)


def ts_momentum(features: pd.DataFrame, config: TsMomentumConfig | None = None) -> pd.Series:
    """Volatility-scaled time-series momentum over 1, 3 and 12 months, combined by weighted mean.

    For each lookback L: z_L = ret_L / (sigma_daily * sqrt(L)), sigma_daily = rvol_60d (else rvol_20d) /
    sqrt(periods per year of the symbol's calendar); s_L = clip(z_L / full_z, -1, 1). The combined score is the
    weighted mean of the available s_L (weights renormalized); NaN if none is available or the volatility is.
    """
    config = config or TsMomentumConfig()
    vol = _num(features, config.vol_column).fillna(_num(features, config.fallback_vol_column))
    calendar = features["calendar"] if "calendar" in features else pd.Series("NYSE", index=features.index)
    ppy = calendar.map(lambda c: config.periods_per_year.get(str(c), 252)).astype(float)
    daily = (vol / np.sqrt(ppy)).where(vol > 0)
    total = pd.Series(0.0, index=features.index)
    weight = pd.Series(0.0, index=features.index)
    for column, length in config.lookbacks.items():
        z = _num(features, column) / (daily * math.sqrt(length))
        part = (z / config.full_z).clip(-1.0, 1.0)
        w = config.weights[column]
        total = total + (part * w).fillna(0.0)
        weight = weight + part.notna().astype(float) * w
    return (total / weight).where(weight > 0)


def factor_momentum(features: pd.DataFrame, config: FactorMomentumConfig | None = None) -> pd.Series:
    """Asset-class momentum: on each date rank classes by the mean 12-month return of their symbols.

    Each symbol's latest return_column value at or before the date is used (carried at most carry_forward_rows
    rows of the union of all dates, so NYSE values stand on crypto weekends). With n ranked classes (at least
    min_classes, else NaN) and k = min(top_k, n // 2): the top k classes score +1, the bottom k -1, the rest 0.
    Ties are broken by class name. Excluded classes score 0; a class without a value on the date: NaN.
    """
    config = config or FactorMomentumConfig()
    dates = _dates(features)
    values = pd.DataFrame(
        {"date": dates, "symbol": features["symbol"], "value": _num(features, config.return_column)}
    ).drop_duplicates(["date", "symbol"], keep="last")
    wide = values.pivot(index="date", columns="symbol", values="value").sort_index()
    if config.carry_forward_rows > 0:
        wide = wide.ffill(limit=config.carry_forward_rows)
    classes = features.drop_duplicates("symbol").set_index("symbol")["asset_class"]
    ranked_classes = sorted({c for c in classes.dropna().unique() if c not in config.exclude_asset_classes})
    if not ranked_classes:
        out = pd.Series(np.nan, index=features.index, dtype=float)
        out[features["asset_class"].isin(config.exclude_asset_classes).to_numpy()] = 0.0
        return out
    means = pd.DataFrame(
        {c: wide[[s for s in wide.columns if classes.get(s) == c]].mean(axis=1) for c in ranked_classes},
        index=wide.index,
    )
    # ties: "first" follows column order, and columns are sorted by class name
    rank = means.rank(axis=1, method="first", ascending=False)
    n = means.notna().sum(axis=1)
    k = np.minimum(config.top_k, n // 2).to_numpy()[:, None]
    n_arr = n.to_numpy()[:, None]
    r = rank.to_numpy()
    scores = np.where(r <= k, 1.0, np.where(r > n_arr - k, -1.0, 0.0))
    scores = np.where(np.isnan(r) | (n_arr < config.min_classes), np.nan, scores)
    table = pd.DataFrame(scores, index=means.index, columns=ranked_classes).stack(future_stack=True)
    keys = pd.MultiIndex.from_arrays([dates, features["asset_class"]])
    out = pd.Series(table.reindex(keys).to_numpy(dtype=float), index=features.index, dtype=float)
    out[features["asset_class"].isin(config.exclude_asset_classes).to_numpy()] = 0.0
    return out


def rule_signals(features: pd.DataFrame, config: RuleConfig | None = None) -> pd.DataFrame:
    """Every rule on a features frame: symbol, trade_date, one score column per rule and the sentiment label.

    Rows keep the input's index and order.
    """
    config = config or RuleConfig()
    sentiment_score, sentiment_label = sentiment_divergence(features, config.sentiment)
    return pd.DataFrame(
        {
            "symbol": features["symbol"],
            "trade_date": features["trade_date"],
            "cot_extreme": cot_extreme(features, config.cot),
            "sentiment_divergence": sentiment_score,
            "sentiment_label": sentiment_label,
            "vix_term_structure": vix_term_structure(features, config.vix),
            "mvrv_zone": mvrv_zone(features, config.mvrv),
            "eia_surprise": eia_surprise(features, config.eia),
            "ts_momentum": ts_momentum(features, config.ts_momentum),
            "factor_momentum": factor_momentum(features, config.factor_momentum),
        },
        index=features.index,
    )


def rule_rows(signals: pd.DataFrame) -> list[RuleSignalRow]:
    """Validate a `rule_signals` frame against the row contract (NaN becomes None)."""
    rows = []
    for record in signals.to_dict("records"):
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        clean["trade_date"] = pd.Timestamp(clean["trade_date"]).date()
        rows.append(RuleSignalRow(**clean))
    return rows


# -------------------------------------------------------------------------------------------------------- helpers


def _num(features: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column as float (missing columns are all-NaN: a mart that lacks a series gives no view)."""
    if column not in features:
        return pd.Series(np.nan, index=features.index, dtype=float)
    return pd.to_numeric(features[column], errors="coerce").astype(float)


def _dates(features: pd.DataFrame) -> pd.Series:
    """trade_date as datetime64[ns] whatever it came as (date objects, strings, timestamps of any unit)."""
    return pd.to_datetime(features["trade_date"]).astype("datetime64[ns]")


def _applies(features: pd.DataFrame, asset_classes: tuple[str, ...]) -> np.ndarray:
    return features["asset_class"].isin(asset_classes).to_numpy()


def _positioning_change(features: pd.DataFrame, days: int) -> pd.Series:
    """cot_spec_net_share at D minus its value at the latest row of the same symbol dated <= D - days."""
    frame = pd.DataFrame(
        {
            "symbol": features["symbol"].astype(str),
            "date": _dates(features),
            "share": _num(features, "cot_spec_net_share"),
        },
        index=features.index,
    )
    frame["row"] = np.arange(len(frame))
    frame["lookup"] = frame["date"] - pd.Timedelta(days=days)
    past = frame[["symbol", "date", "share"]].dropna(subset=["share"]).sort_values("date")
    past = past.rename(columns={"date": "lookup", "share": "past_share"})
    merged = pd.merge_asof(
        frame.sort_values("lookup"), past, on="lookup", by="symbol", direction="backward", allow_exact_matches=True
    ).sort_values("row")
    return pd.Series(merged["share"].to_numpy() - merged["past_share"].to_numpy(), index=features.index)
