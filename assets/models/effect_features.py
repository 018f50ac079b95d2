"""Features that state each known effect class in one sign and one scale for every instrument.

Why: the features mart gives raw inputs (a positioning z-score, a crude-stock surprise, a VIX term-structure flag,
a price level) that matter only for some instruments, only for a few days after a release, and on scales that
differ by instrument. A tree pooled over all instruments then has to find each interaction (instrument x
freshness x extreme) in weak effects and a lot of noise, and on the simulated lake it does not: it splits on the
instrument codes and on trends instead, and its D+5 Sharpe after costs is about zero. These columns do that work
once, with the published definitions of the effect classes (market conventions, not fitted to the data):
- crowd reversal: speculators' positioning beyond 1.5 standard deviations of its 52-week range, while the weekly
  report is still news;
- inventory news: the crude-stock surprise, for the instruments priced off crude oil, while the report is news;
- VIX backwardation: how recently VIX closed above VIX3M, for equity indices;
- the pull of a price towards its long-run mean, in units of its own daily volatility.
"News" lasts `fresh_days` trading days after a release; for an h-day forecast the freshness is the share of
D+1..D+h that falls inside them.

Every column of row (symbol, D) uses only that symbol's rows dated on or before D, so the columns are point in
time whenever the mart is, and cutting the data after T leaves every row dated <= T unchanged. A column whose
inputs are absent from the frame is not added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

EFFECT_FEATURES: tuple[str, ...] = (
    "cot_crowd_extreme",
    "cot_crowd_fresh",
    "crude_surprise_fresh",
    "vix_backwardation_recent",
    "level_gap_z",
)


class EffectFeatureConfig(BaseModel):
    """Definitions of the effect classes (thresholds and windows are market conventions, not fitted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cot_extreme_z: float = Field(default=1.5, gt=0, description="positioning z-score beyond which the crowd is extreme")
    fresh_days: int = Field(default=5, ge=1, description="trading days a weekly release stays news")
    crude_symbols: tuple[str, ...] = Field(default=("WTI", "BRENT"), description="instruments priced off crude oil")
    equity_classes: tuple[str, ...] = Field(default=("equity",), description="asset classes VIX describes")
    level_min_rows: int = Field(default=250, ge=20, description="history before the long-run mean is trusted")


def _rows_since_release(frame: pd.DataFrame, days_since: str) -> pd.Series:
    """Per symbol: trading rows since the release now in force (a days-since counter that falls is a new one)."""
    values = frame[days_since]
    new_release = values.diff().lt(0) | (frame["symbol"] != frame["symbol"].shift())
    rows = frame.groupby(new_release.cumsum()).cumcount().astype("float64")
    return rows.where(values.notna())


def _rows_since_flag(frame: pd.DataFrame, flag: str) -> pd.Series:
    """Per symbol: trading rows since `flag` was last 1 (infinite before the first time, NaN where unknown)."""
    position = frame.groupby("symbol").cumcount().astype("float64")
    last = position.where(frame[flag] == 1).groupby(frame["symbol"]).ffill()
    return (position - last).fillna(np.inf).where(frame[flag].notna())


def _freshness(rows_since: pd.Series, fresh_days: int, horizon: int) -> pd.Series:
    """How much of D+1..D+h the news still drives, as a share of the most it can (1 on the release day, then 0)."""
    overlap = np.minimum(horizon, fresh_days - rows_since).clip(lower=0)
    return overlap / min(horizon, fresh_days)


def add_effect_features(
    features: pd.DataFrame, horizon: int, config: EffectFeatureConfig | None = None
) -> pd.DataFrame:
    """A copy of `features` with the `EFFECT_FEATURES` of an h-day forecast whose inputs it has (same row order)."""
    config = config or EffectFeatureConfig()
    frame = features.sort_values(["symbol", "trade_date"], kind="stable")
    out = frame.copy()
    has = set(frame.columns).issuperset

    if has(["cot_spec_z52", "cot_days_since_report"]):
        z = frame["cot_spec_z52"]
        extreme = np.sign(z) * (z.abs() - config.cot_extreme_z).clip(lower=0)
        fresh = _freshness(_rows_since_release(frame, "cot_days_since_report"), config.fresh_days, horizon)
        out["cot_crowd_extreme"] = extreme
        out["cot_crowd_fresh"] = extreme * fresh
    if has(["crude_surprise_z", "energy_days_since_release"]):
        fresh = _freshness(_rows_since_release(frame, "energy_days_since_release"), config.fresh_days, horizon)
        crude = frame["symbol"].isin(config.crude_symbols)
        out["crude_surprise_fresh"] = (frame["crude_surprise_z"] * fresh).where(crude, 0.0)
    if has(["vix_backwardation", "asset_class"]):
        fresh = _freshness(_rows_since_flag(frame, "vix_backwardation"), config.fresh_days, horizon)
        out["vix_backwardation_recent"] = fresh.where(frame["asset_class"].isin(config.equity_classes), 0.0)
    if has(["close", "rvol_20d"]):
        log_close = np.log(frame["close"].where(frame["close"] > 0))
        long_mean = log_close.groupby(frame["symbol"]).transform(
            lambda s: s.expanding(min_periods=config.level_min_rows).mean()
        )
        daily_vol = frame["rvol_20d"] / np.sqrt(252.0)
        out["level_gap_z"] = (log_close - long_mean) / daily_vol.where(daily_vol > 0)
    return out.loc[features.index]


__all__ = ["EFFECT_FEATURES", "EffectFeatureConfig", "add_effect_features"]
