"""The oracle: what the simulated world's own generating process expects each instrument to return over h days.

The world (`world.py`) draws every daily return as a known drift plus independent noise. The drift on day t is the
asset's constant drift, its factor beta times the regime's mean, the mean reversion of FX and commodities towards
their levels and of the equity indices towards their trends, and the planted effects (COT extremes, VIX
backwardation, EIA surprises, time-series momentum).
The oracle's score for (instrument, D, h) is the sum over D+1..D+h of the drifts expected at D's close:
- regime: given the hidden regime at D, the regime mean j days later is (P^j mu)[state], P the transition matrix;
- planted effects: only those whose trigger was public by D (a COT report released by D, an EIA report released
  by D, a VIX close above VIX3M on or before D); time-series momentum with the sign of the 12-month return at D;
- mean reversion: the pull of D's level, held over the window.
It is the conditional mean given everything public at D plus the hidden regime, so no model can beat it in
expectation: an upper bound, generous only in knowing the regime (a model can only filter it).
Covered: the business-day instruments whose drift world.py writes in closed form, and VIX, whose mean reversion
its components give in closed form (`vix_expected`, an approximation) (ORACLE_SYMBOLS). Not covered: the 10-year
yield (policy paths) and BTC/ETH (their MVRV effect is computed inside the crypto simulation); comparisons with the
oracle pool the covered instruments only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resources.simulated.world import (
    COMMODITY,
    COMMODITY_LEVELS,
    COT_EFFECT_CONTRACTS,
    COT_EFFECT_DAILY,
    COT_MARKETS,
    COT_Z_THRESHOLD,
    EIA_DRIFT_DAILY_PER_SD,
    EQUITY,
    GARCH_PERSISTENCE,
    MEAN_REVERSION,
    REGIME_MU,
    REGIME_SIGMA,
    REGIME_TRANSITIONS,
    REGIMES,
    TSMOM_DAILY,
    VIX_BACKWARDATION_DAILY,
    VIX_FEAR_AR,
    VIX_SPOT_AR,
    World,
    _trading_index_on_or_after,
    anchor_log_level,
    vix_level,
    world_for,
)
from resources.sources.cot.calendar import release_date as cot_release_date

ORACLE_SYMBOLS: tuple[str, ...] = ("SPX", "NDX", "WTI", "BRENT", "NATGAS", "EURUSD", "USDJPY", "USD", "VIX")
_BRENT_SPREAD_PULL = 0.02
_EFFECT_DAYS = 5  # world.py: COT, EIA and VIX drifts last the 5 trading days after their trigger
_TSMOM = ("SPX", "NDX", "WTI", "GOLD", "EURUSD", "JPYUSD")
_TSMOM_LOOKBACK = 251  # world.py: sign(logp[i-1] - logp[i-252]), i.e. 251 days back from the last close


def regime_means(horizon: int) -> np.ndarray:
    """[state, j-1]: the expected factor drift j = 1..h days after a day in `state`."""
    out = np.empty((len(REGIMES), horizon))
    step = np.eye(len(REGIMES))
    for j in range(horizon):
        step = step @ REGIME_TRANSITIONS
        out[:, j] = step @ REGIME_MU
    return out


def _add_event(column: np.ndarray, horizon: int, known_from: int, start: int, end: int, daily: float) -> None:
    """Add `daily` times the days of [start, end] inside [D + 1, D + h] to every D >= known_from (in place)."""
    first, last = max(known_from, start - horizon), min(end - 1, len(column) - 1)
    if last < first:
        return
    day = np.arange(first, last + 1)
    column[first : last + 1] += daily * np.clip(
        np.minimum(end, day + horizon) - np.maximum(start, day + 1) + 1, 0, None
    )


def known_effects(world: World, horizon: int) -> pd.DataFrame:
    """Per business day D and world asset: the planted drift over D+1..D+h whose trigger was public by D."""
    days = world.daily.index
    n = len(days)
    position = {d: i for i, d in enumerate(days.date)}
    index = np.arange(n)
    columns = {name: np.zeros(n) for name in world.effects_log.columns}
    # COT: a report released on trading day r moves the contract on r+1..r+5 against the crowd
    for row in world.positioning.itertuples():
        contract = COT_MARKETS[row.code][0]
        z = float(row.spec_z52)
        if contract not in COT_EFFECT_CONTRACTS or not np.isfinite(z) or abs(z) <= COT_Z_THRESHOLD:
            continue
        release = _trading_index_on_or_after(position, cot_release_date(pd.Timestamp(row.report_date).date()))
        if release:
            daily = -np.sign(z) * COT_EFFECT_DAILY
            _add_event(columns[contract], horizon, release, release + 1, release + _EFFECT_DAYS, daily)
    # EIA: the surprise released on trading day w drifts WTI and BRENT on w+1..w+5
    for row in world.petroleum.itertuples():
        if pd.isna(row.release_day) or row.release_day.date() not in position:
            continue
        w = position[row.release_day.date()]
        for name in ("WTI", "BRENT"):
            daily = EIA_DRIFT_DAILY_PER_SD * row.surprise_z
            _add_event(columns[name], horizon, w, w + 1, w + _EFFECT_DAYS, daily)
    out = pd.DataFrame(columns, index=days)
    # VIX backwardation at the close of day i: SPX and NDX drift on i+1..i+5 (not stacking)
    backwardation = (world.daily["VIX"] > world.daily["VIX3M"]).to_numpy()
    last = pd.Series(np.where(backwardation, index, np.nan)).ffill().to_numpy()
    active_until = np.where(np.isfinite(last), last + _EFFECT_DAYS, -1)
    days_active = np.clip(active_until - index, 0, horizon)
    for name in ("SPX", "NDX"):
        out[name] += VIX_BACKWARDATION_DAILY * days_active
    # time-series momentum: the sign of the 12-month return at D, held over the window
    for name in _TSMOM:
        logp = _world_log_price(world, name)
        out[name] += horizon * TSMOM_DAILY * np.sign(logp - logp.shift(_TSMOM_LOOKBACK)).fillna(0.0)
    return out


def _world_log_price(world: World, name: str) -> pd.Series:
    daily = world.daily
    column = {"SPX": "SPX", "NDX": "NDX", "WTI": "RWTC", "GOLD": "GOLD", "EURUSD": "DEXUSEU"}
    if name == "JPYUSD":
        return -np.log(daily["DEXJPUS"])
    return np.log(daily[column[name]])


def vix_expected(world: World, horizon: int) -> pd.Series:
    """Expected h-day log change of VIX: the world's VIX formula (`world.vix_level`) applied to the expected
    state h days on, against D's close. VIX has no planted effect; its predictability is its mean reversion, which
    the generating process gives in closed form per component:
    - regime sigma: E[log sigma(state at D+h)] = (P^h log sigma)[state at D];
    - GARCH variance multiplier: E[h'] = 1 + GARCH_PERSISTENCE^h (h - 1);
    - fear and spot terms: autoregressive, so VIX_FEAR_AR^h and VIX_SPOT_AR^h of D's values (the factor returns
      that feed the spot term have mean zero).
    The expected state is put through the formula (not the formula's expectation): an approximation that ignores
    the curvature of exp and the saturation, which moves the level, not the sign that the leak audit scores.
    """
    state = world.regimes.map({name: i for i, name in enumerate(REGIMES)}).to_numpy()
    step = np.linalg.matrix_power(REGIME_TRANSITIONS, horizon)
    sigma = np.exp((step @ np.log(REGIME_SIGMA))[state])
    components = world.vix_state
    garch = np.sqrt(1.0 + GARCH_PERSISTENCE**horizon * (components["garch_next"].to_numpy() ** 2 - 1.0))
    later = vix_level(
        sigma * garch,
        VIX_FEAR_AR**horizon * components["fear"].to_numpy(),
        VIX_SPOT_AR**horizon * components["spot"].to_numpy(),
    )
    return pd.Series(np.log(later) - np.log(world.daily["VIX"].to_numpy()), index=world.daily.index)


def expected_returns(world: World, horizon: int) -> pd.DataFrame:
    """Oracle expected h-day log return per business day: columns trade_date, symbol, expected."""
    daily = world.daily
    state = pd.Series(world.regimes.map({name: i for i, name in enumerate(REGIMES)}).to_numpy(), index=daily.index)
    factor = pd.Series(regime_means(horizon)[state.to_numpy()].sum(axis=1), index=daily.index)
    effects = known_effects(world, horizon)
    assets = {a.name: a for a in (*EQUITY, *COMMODITY)}
    logp = {
        "WTI": np.log(daily["RWTC"]),
        "BRENT": np.log(daily["RBRTE"]),
        "NATGAS": np.log(daily["RNGWHHD"]),
        "EURUSD": np.log(daily["DEXUSEU"]),
        "JPYUSD": -np.log(daily["DEXJPUS"]),
        "USDX": np.log(daily["DTWEXBGS"] / 1.05),
    }
    pull = {
        **{name: -pull * (logp[name] - np.log(level)) for name, (level, pull) in COMMODITY_LEVELS.items()},
        "EURUSD": -MEAN_REVERSION * (logp["EURUSD"] - np.log(1.15)),
        "JPYUSD": -MEAN_REVERSION * (logp["JPYUSD"] - np.log(1 / 112.0)),
        "USDX": -MEAN_REVERSION * (logp["USDX"] - np.log(105.0)),
        "BRENT_SPREAD": -_BRENT_SPREAD_PULL * (logp["BRENT"] - logp["WTI"] - np.log(1.06)),
    }

    def priced(name: str) -> pd.Series:
        a = assets[name]
        return horizon * a.drift + a.factor_beta * factor + effects[name]

    def anchored(name: str) -> pd.Series:
        """An equity index and its pull towards its trend from D's close, held over the window."""
        a = assets[name]
        distance = np.log(daily[name]) - anchor_log_level(a, np.arange(len(daily)))
        return priced(name) - horizon * a.pull * distance

    wti = priced("WTI") + horizon * pull["WTI"]
    expected = {
        "SPX": anchored("SPX"),
        "NDX": anchored("NDX"),
        "WTI": wti,
        "BRENT": wti - effects["WTI"] + effects["BRENT"] + horizon * pull["BRENT_SPREAD"],
        "NATGAS": priced("NATGAS") + horizon * pull["NATGAS"],
        "EURUSD": horizon * pull["EURUSD"] + effects["EURUSD"],
        "USDJPY": -(horizon * pull["JPYUSD"] + effects["JPYUSD"]),
        "USD": horizon * (pull["USDX"] - 0.3 * pull["EURUSD"]),
        "VIX": vix_expected(world, horizon),
    }
    frames = [
        pd.DataFrame({"trade_date": values.index, "symbol": symbol, "expected": values.to_numpy()})
        for symbol, values in expected.items()
    ]
    return pd.concat(frames, ignore_index=True).dropna(subset=["expected"])


def oracle_scores(seed: int, horizons: tuple[int, ...]) -> pd.DataFrame:
    """Oracle expected returns of the world with `seed` for every horizon: trade_date, symbol, horizon, expected."""
    world = world_for(seed)
    parts = [expected_returns(world, h).assign(horizon=h) for h in horizons]
    return pd.concat(parts, ignore_index=True)


__all__ = ["ORACLE_SYMBOLS", "expected_returns", "known_effects", "oracle_scores", "regime_means", "vix_expected"]
