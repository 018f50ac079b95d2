"""The oracle: what the simulated world's own generating process expects each instrument to return over h days.

The world (`world.py`) draws every daily return as a known drift plus noise. The drift on day t is the asset's
constant drift, its factor beta times the regime's mean, the mean reversion of FX and commodities towards their
levels, and the planted effects (COT extremes, VIX backwardation, EIA surprises, time-series momentum) recorded
in `World.effects_log`. Given the hidden regime at D, the regime mean j days later is (P^j mu)[state], with P the
regime transition matrix. The oracle's score for (instrument, D, h) is the sum over D+1..D+h of these expected
drifts: the conditional mean no model can beat in expectation, because the rest is independent noise.

It is an upper bound, slightly generous on purpose: it knows the hidden regime (a model can only filter it) and
the planted drifts scheduled inside the window, including those triggered by releases after D. Covered: the
business-day instruments whose drift world.py writes in closed form (ORACLE_SYMBOLS). Not covered: VIX and the
10-year yield (levels driven by nonlinear volatility and policy paths) and BTC/ETH (the MVRV effect is not
logged per day); comparisons with the oracle pool the covered instruments only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resources.simulated.world import COMMODITY, EQUITY, REGIME_MU, REGIME_TRANSITIONS, REGIMES, World, world_for

ORACLE_SYMBOLS: tuple[str, ...] = ("SPX", "NDX", "WTI", "BRENT", "NATGAS", "EURUSD", "USDJPY", "USD")
_MEAN_REVERSION = 0.0015  # world.py: FX and commodities pull 0.15% of their log distance to a level per day
_BRENT_SPREAD_PULL = 0.02


def regime_means(horizon: int) -> np.ndarray:
    """[state, j-1]: the expected factor drift j = 1..h days after a day in `state`."""
    out = np.empty((len(REGIMES), horizon))
    step = np.eye(len(REGIMES))
    for j in range(horizon):
        step = step @ REGIME_TRANSITIONS
        out[:, j] = step @ REGIME_MU
    return out


def _window_sum(values: pd.Series, horizon: int) -> pd.Series:
    """Sum of values[t+1 .. t+h] on each row t (NaN where the window passes the end)."""
    return values.rolling(horizon).sum().shift(-horizon)


def expected_returns(world: World, horizon: int) -> pd.DataFrame:
    """Oracle expected h-day log return per business day: columns trade_date, symbol, expected."""
    daily = world.daily
    state = pd.Series(world.regimes.map({name: i for i, name in enumerate(REGIMES)}).to_numpy(), index=daily.index)
    factor = pd.Series(regime_means(horizon)[state.to_numpy()].sum(axis=1), index=daily.index)
    effects = world.effects_log
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
        "WTI": -_MEAN_REVERSION * (logp["WTI"] - np.log(65.0)),
        "NATGAS": -_MEAN_REVERSION * (logp["NATGAS"] - np.log(3.5)),
        "EURUSD": -_MEAN_REVERSION * (logp["EURUSD"] - np.log(1.15)),
        "JPYUSD": -_MEAN_REVERSION * (logp["JPYUSD"] - np.log(1 / 112.0)),
        "USDX": -_MEAN_REVERSION * (logp["USDX"] - np.log(105.0)),
        "BRENT_SPREAD": -_BRENT_SPREAD_PULL * (logp["BRENT"] - logp["WTI"] - np.log(1.06)),
    }

    def priced(name: str) -> pd.Series:
        a = assets[name]
        return horizon * a.drift + a.factor_beta * factor + _window_sum(effects[name], horizon)

    wti = priced("WTI") + horizon * pull["WTI"]
    expected = {
        "SPX": priced("SPX"),
        "NDX": priced("NDX"),
        "WTI": wti,
        "BRENT": wti
        - _window_sum(effects["WTI"], horizon)
        + _window_sum(effects["BRENT"], horizon)
        + horizon * pull["BRENT_SPREAD"],
        "NATGAS": priced("NATGAS") + horizon * pull["NATGAS"],
        "EURUSD": horizon * pull["EURUSD"] + _window_sum(effects["EURUSD"], horizon),
        "USDJPY": -(horizon * pull["JPYUSD"] + _window_sum(effects["JPYUSD"], horizon)),
        "USD": horizon * (pull["USDX"] - 0.3 * pull["EURUSD"]) + _window_sum(effects["USDX"], horizon),
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


__all__ = ["ORACLE_SYMBOLS", "expected_returns", "oracle_scores", "regime_means"]
