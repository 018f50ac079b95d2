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
- the pull of a price towards its long-run mean, in units of its own daily volatility;
- the market regime as this instrument feels it: its beta to the market (SPX) times the market's stress (the log
  of the market's 20-day volatility over its own median). A calm market drifts up and a stressed one down, and
  each instrument shares that drift with its own sign and size (gold and the yen against equities).
The last one was added because without it every column is zero for most instruments on most days (no release is
news, no extreme): the pooled model then gave nearly one probability to every instrument on a day, its probabilities
moved only with its own average, and all decisions moved together (December 2025 on the default lake: every D+5
signal UP, VIX and the currencies included). The beta alone is not a column: as a model input it acts as an
instrument code (its level names the instrument), which made the D+5 signal's Sharpe worse on both simulated worlds.
"News" lasts `fresh_days` trading days after a release; for an h-day forecast the freshness is the share of
D+1..D+h that falls inside them.

Every column of row (symbol, D) uses only rows dated on or before D (the symbol's, and the market's for its exposure,
all with one decision time per day), so the columns are point in
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
    "beta_market_stress",
)


class EffectFeatureConfig(BaseModel):
    """Definitions of the effect classes (thresholds and windows are market conventions, not fitted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cot_extreme_z: float = Field(default=1.5, gt=0, description="positioning z-score beyond which the crowd is extreme")
    fresh_days: int = Field(default=5, ge=1, description="trading days a weekly release stays news")
    crude_symbols: tuple[str, ...] = Field(default=("WTI", "BRENT"), description="instruments priced off crude oil")
    equity_classes: tuple[str, ...] = Field(default=("equity",), description="asset classes VIX describes")
    level_min_rows: int = Field(default=250, ge=20, description="history before the long-run mean is trusted")
    market_symbol: str = Field(default="SPX", description="the market whose regime drives the other instruments")
    beta_days: int = Field(default=250, ge=20, description="trading days of the rolling beta to the market")
    beta_min_rows: int = Field(default=120, ge=10, description="joint rows before a beta is trusted")


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


def _market_exposure(frame: pd.DataFrame, config: EffectFeatureConfig) -> pd.DataFrame:
    """Per row: the instrument's rolling beta to the market and that beta times the market's stress.

    The beta is estimated on overlapping 5-day returns: sources close at different hours and publish with
    different lags (an EIA spot price, a Cboe close), and one-day returns on the same date then barely co-move.

    Stress is the log of the market's 20-day volatility over its own expanding median: a calm market (negative)
    drifts up, a stressed one (positive) drifts down, and an instrument shares that drift in proportion to its
    beta, with its own sign (gold and the yen against equities). The market's volatility is taken as of the
    latest market day on or before D (a crypto weekend uses Friday's), so every value is known at D.
    """
    market = frame[frame["symbol"] == config.market_symbol][["trade_date", "ret_5d", "rvol_20d"]]
    market = market.dropna(subset=["rvol_20d"]).sort_values("trade_date")
    median = market["rvol_20d"].expanding(min_periods=config.beta_min_rows).median()
    market = market.assign(stress=np.log(market["rvol_20d"] / median.where(median > 0)))
    rows = frame[["symbol", "trade_date", "ret_5d"]]
    same_day = rows.merge(
        market[["trade_date", "ret_5d"]].rename(columns={"ret_5d": "m"}), on="trade_date", how="left"
    ).set_axis(rows.index)
    both = same_day["ret_5d"].notna() & same_day["m"].notna()
    r, m = same_day["ret_5d"].where(both), same_day["m"].where(both)
    keyed = pd.DataFrame({"r": r, "m": m, "rm": r * m, "mm": m * m}, index=rows.index)
    rolled = (
        keyed.groupby(rows["symbol"])
        .rolling(config.beta_days, min_periods=config.beta_min_rows)
        .mean()
        .reset_index(level=0, drop=True)
        .reindex(rows.index)
    )
    variance = rolled["mm"] - rolled["m"] ** 2
    beta = (rolled["rm"] - rolled["r"] * rolled["m"]) / variance.where(variance > 0)
    stress = pd.merge_asof(
        pd.DataFrame({"at": pd.to_datetime(rows["trade_date"])}).reset_index().sort_values("at"),
        pd.DataFrame({"at": pd.to_datetime(market["trade_date"]), "stress": market["stress"].to_numpy()}),
        on="at",
        direction="backward",
    ).set_index("index")["stress"]
    return pd.DataFrame({"market_beta": beta, "beta_market_stress": beta * stress.reindex(rows.index)})


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
    if has(["ret_5d", "rvol_20d"]):
        if (frame["symbol"] == config.market_symbol).any():
            out = out.join(_market_exposure(frame, config))
        else:  # a universe without the market (e.g. the real files): the exposure is unknown, not zero
            out = out.assign(market_beta=np.nan, beta_market_stress=np.nan)
    return out.loc[features.index]


__all__ = ["EFFECT_FEATURES", "EffectFeatureConfig", "add_effect_features"]
