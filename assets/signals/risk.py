"""Value at risk and expected shortfall of one position from a trailing window of its returns.

Conventions (stated once, used everywhere):
- VaR and ES are positive numbers: the loss, in the position's currency, not exceeded with probability c (VaR)
  and the mean loss beyond it (ES), over `horizon_days`.
- P&L of a position of signed value V for a return r: V * (exp(r) - 1) when the returns are log returns (the
  features contract), V * r when they are simple. A short position (V < 0) loses on the upper tail.
- Horizon scaling is the square root of time on the return: r_h = sqrt(h) * r_1 for historical draws, and
  mu * h, sigma * sqrt(h) for the parametric methods. It assumes independent returns with no drift; it understates
  risk when returns are autocorrelated or volatility is clustering.
- Historical quantile: the k-th worst P&L with k = ceil(n * (1 - c)) (no interpolation: a loss that happened);
  historical ES: the mean of those k worst P&Ls.
- Parametric: mean and sample standard deviation (ddof=1) of the window; the mean is dropped unless
  include_mean (a trailing mean is noise and would lower the VaR of whatever went up). Cornish-Fisher adjusts
  the Gaussian quantile for the window's skewness and excess kurtosis (population moments):
  z_cf = z + (z^2 - 1) S/6 + (z^3 - 3z) K/24 - (2z^3 - 5z) S^2/36. It is an expansion: for very fat or skewed
  windows it can misbehave, which is why it is reported beside, not instead of, the other two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VarMethod(StrEnum):
    HISTORICAL = "HISTORICAL"
    GAUSSIAN = "GAUSSIAN"
    CORNISH_FISHER = "CORNISH_FISHER"


class RiskConfig(_Strict):
    confidence_levels: tuple[float, ...] = (0.95, 0.99)
    horizon_days: int = Field(1, ge=1)
    log_returns: bool = Field(True, description="the features contract's returns are log returns")
    include_mean: bool = False
    min_obs: int = Field(30, ge=2, description="fewer finite returns in the window: an error, not a number")


class RiskEstimate(_Strict):
    method: VarMethod
    confidence: float
    horizon_days: int
    var: float = Field(description="loss in the position's currency, >= 0 unless the position gains in the tail")
    expected_shortfall: float | None = Field(description="None for Cornish-Fisher (no closed form used)")


class RiskReport(_Strict):
    position: float
    horizon_days: int
    n_obs: int
    log_returns: bool
    estimates: list[RiskEstimate]

    def get(self, method: VarMethod | str, confidence: float) -> RiskEstimate:
        for estimate in self.estimates:
            if estimate.method == VarMethod(method) and math.isclose(estimate.confidence, confidence):
                return estimate
        raise KeyError(f"no {method} estimate at {confidence}")


def _clean(returns: Sequence[float] | np.ndarray, min_obs: int) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < min_obs:
        raise ValueError(f"need at least {min_obs} finite returns, got {len(values)}")
    return values


def _check(confidence: float, horizon_days: int) -> None:
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")


@lru_cache(maxsize=64)
def _z(probability: float) -> float:
    """Standard normal quantile (cached: the signals ask for the same two levels on every day)."""
    from scipy import stats  # here, not with the definitions

    return float(stats.norm.ppf(probability))


def _pnl(position: float, returns: np.ndarray | float, log_returns: bool) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    return position * (np.expm1(r) if log_returns else r)


def historical_var(
    returns: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    position: float = 1.0,
    log_returns: bool = True,
    min_obs: int = 30,
) -> float:
    """Historical VaR: minus the k-th worst P&L of the scaled window, k = ceil(n (1 - c))."""
    return _historical(returns, confidence, horizon_days, position, log_returns, min_obs)[0]


def historical_es(
    returns: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    position: float = 1.0,
    log_returns: bool = True,
    min_obs: int = 30,
) -> float:
    """Historical expected shortfall: minus the mean of the k worst P&Ls, k = ceil(n (1 - c))."""
    return _historical(returns, confidence, horizon_days, position, log_returns, min_obs)[1]


def _historical(
    returns: Sequence[float] | np.ndarray,
    confidence: float,
    horizon_days: int,
    position: float,
    log_returns: bool,
    min_obs: int,
) -> tuple[float, float]:
    _check(confidence, horizon_days)
    values = _clean(returns, min_obs)
    pnl = np.sort(_pnl(position, values * math.sqrt(horizon_days), log_returns))
    k = max(1, math.ceil(round(len(pnl) * (1.0 - confidence), 9)))
    return float(-pnl[k - 1]), float(-pnl[:k].mean())


def parametric_var(
    returns: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    position: float = 1.0,
    log_returns: bool = True,
    include_mean: bool = False,
    cornish_fisher: bool = False,
    min_obs: int = 30,
) -> float:
    """Gaussian (or Cornish-Fisher) VaR: the return quantile mu h + z sigma sqrt(h) mapped to P&L.

    For a long position the quantile is the lower one (z = Phi^-1(1 - c)), for a short one the upper one; with
    Cornish-Fisher the skewness of the side that loses is used (a short position sees the negated returns).
    """
    from scipy import stats  # here, not with the definitions

    _check(confidence, horizon_days)
    values = _clean(returns, min_obs)
    side = 1.0 if position >= 0 else -1.0
    x = side * values  # returns as seen by the position: its losses are always the lower tail of x
    mu = float(x.mean()) if include_mean else 0.0
    sigma = float(x.std(ddof=1))
    z = _z(1.0 - confidence)
    if cornish_fisher:
        s = float(stats.skew(x, bias=True))
        k = float(stats.kurtosis(x, fisher=True, bias=True))
        z = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
    q = mu * horizon_days + z * sigma * math.sqrt(horizon_days)  # lower quantile of x over the horizon
    return float(-_pnl(abs(position), q, log_returns)) if side > 0 else float(_pnl(abs(position), -q, log_returns))


def gaussian_es(
    returns: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    horizon_days: int = 1,
    position: float = 1.0,
    log_returns: bool = True,
    include_mean: bool = False,
    min_obs: int = 30,
) -> float:
    """Gaussian expected shortfall, exact for the stated P&L.

    Simple returns: ES = |V| (sigma_h phi(z) / (1 - c) - mu_h) on the losing side. Log returns: the mean of
    V (exp(X) - 1) over the tail of X ~ N(m, s^2), which is lognormal: E[e^X | X <= q] = e^(m + s^2/2)
    Phi((q - m - s^2) / s) / Phi((q - m) / s) (and the mirror image for a short position).
    """
    from scipy import stats  # here, not with the definitions

    _check(confidence, horizon_days)
    values = _clean(returns, min_obs)
    mu_1 = float(values.mean()) if include_mean else 0.0
    m = mu_1 * horizon_days
    s = float(values.std(ddof=1)) * math.sqrt(horizon_days)
    tail = 1.0 - confidence
    size = abs(position)
    if not log_returns:
        side = 1.0 if position >= 0 else -1.0
        return float(size * (s * stats.norm.pdf(stats.norm.ppf(confidence)) / tail - side * m))
    if position >= 0:
        q = m + s * float(stats.norm.ppf(tail))
        mean_exp = math.exp(m + s * s / 2) * stats.norm.cdf((q - m - s * s) / s) / tail
        return float(size * (1.0 - mean_exp))
    q = m + s * float(stats.norm.ppf(confidence))
    mean_exp = math.exp(m + s * s / 2) * stats.norm.sf((q - m - s * s) / s) / tail
    return float(size * (mean_exp - 1.0))


def risk_report(
    returns: Sequence[float] | np.ndarray, position: float = 1.0, config: RiskConfig | None = None
) -> RiskReport:
    """Every method at every confidence level for one position and one trailing window of returns."""
    config = config or RiskConfig()
    values = _clean(returns, config.min_obs)
    common = {"horizon_days": config.horizon_days, "position": position, "log_returns": config.log_returns}
    estimates: list[RiskEstimate] = []
    for c in config.confidence_levels:
        var_h, es_h = _historical(values, c, config.horizon_days, position, config.log_returns, config.min_obs)
        estimates.append(
            RiskEstimate(
                method=VarMethod.HISTORICAL,
                confidence=c,
                horizon_days=config.horizon_days,
                var=var_h,
                expected_shortfall=es_h,
            )
        )
        estimates.append(
            RiskEstimate(
                method=VarMethod.GAUSSIAN,
                confidence=c,
                horizon_days=config.horizon_days,
                var=parametric_var(values, c, include_mean=config.include_mean, min_obs=config.min_obs, **common),
                expected_shortfall=gaussian_es(
                    values, c, include_mean=config.include_mean, min_obs=config.min_obs, **common
                ),
            )
        )
        estimates.append(
            RiskEstimate(
                method=VarMethod.CORNISH_FISHER,
                confidence=c,
                horizon_days=config.horizon_days,
                var=parametric_var(
                    values, c, include_mean=config.include_mean, cornish_fisher=True, min_obs=config.min_obs, **common
                ),
                expected_shortfall=None,
            )
        )
    return RiskReport(
        position=position,
        horizon_days=config.horizon_days,
        n_obs=len(values),
        log_returns=config.log_returns,
        estimates=estimates,
    )


def trailing_var(
    returns: Sequence[float] | np.ndarray,
    window: int,
    min_obs: int,
    confidence_levels: Sequence[float] = (0.95, 0.99),
    log_returns: bool = True,
) -> dict[str, np.ndarray]:
    """One-day VaR of a unit long (+1) and unit short (-1) position on each day from the trailing `window` returns.

    Row t uses returns[t - window + 1 .. t] (known at t); fewer than `min_obs` finite returns gives NaN. Keys are
    `historical_95_long`, `parametric_99_short`, ... Each value is exactly `historical_var` / `parametric_var`
    (Gaussian, no mean) of that window; a position of size s has s times the unit VaR of its side, which is how the
    signals use it (VaR is positively homogeneous in the position).
    """
    values = np.asarray(returns, dtype=float)
    n = len(values)
    out = {
        f"{method}_{round(c * 100)}_{side}": np.full(n, np.nan)
        for method in ("historical", "parametric")
        for c in confidence_levels
        for side in ("long", "short")
    }
    for c in confidence_levels:
        _check(c, 1)
    finite = np.isfinite(values)
    # per window, the work the two functions share is done once: the finite returns, each side's sorted P&L (for
    # every confidence level) and each side's standard deviation; every value goes through the same operations in
    # the same order as in `historical_var` and `parametric_var`, so it is the same to the bit (test_sizing_risk.py)
    sides = (("long", 1.0), ("short", -1.0))
    for t in range(n):
        lo = max(0, t - window + 1)
        if finite[lo : t + 1].sum() < min_obs:
            continue
        win = values[lo : t + 1]
        clean = win[finite[lo : t + 1]]
        for side, position in sides:
            pnl = np.sort(_pnl(position, clean * math.sqrt(1), log_returns))
            sigma = float((position * clean).std(ddof=1))
            for c in confidence_levels:
                key = f"{round(c * 100)}_{side}"
                k = max(1, math.ceil(round(len(pnl) * (1.0 - c), 9)))
                out[f"historical_{key}"][t] = float(-pnl[k - 1])
                q = 0.0 * 1 + _z(1.0 - c) * sigma * math.sqrt(1)
                unit = float(-_pnl(1.0, q, log_returns)) if position > 0 else float(_pnl(1.0, -q, log_returns))
                out[f"parametric_{key}"][t] = unit
    return out
