"""Measure the simulated publisher's planted effects from the lake, as an outside researcher would.

Each effect of `resources.simulated.world.PLANTED_EFFECTS` has a documented sign and size; here it is estimated
from the marts (features known at D and forward returns), with its standard error, and compared with the stated
tolerance. A pipeline that loses information (a wrong release time, a sign flipped in a join) fails to recover
them; one that leaks would find them too strong. Only meaningful on simulated data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel

from resources.simulated.world import COT_Z_THRESHOLD, PLANTED_EFFECTS, PlantedEffect

SURPRISE_SD_KBBL = 3_000.0  # the simulated crude-stock surprise's standard deviation (resources/simulated/world.py)


class EffectEstimate(BaseModel):
    name: str
    expected: float
    tolerance: float
    measured: float | None
    std_error: float | None
    n: int
    recovered: bool
    method: str


def _result(
    effect: PlantedEffect, method: str, n: int, measured: float | None = None, se: float | None = None
) -> EffectEstimate:
    """The estimate against the documented size: recovered when the sign matches and it is within tolerance."""
    recovered = measured is not None and (
        abs(measured - effect.size) <= effect.tolerance and np.sign(measured) == np.sign(effect.size)
    )
    return EffectEstimate(
        name=effect.name,
        expected=effect.size,
        tolerance=effect.tolerance,
        measured=measured,
        std_error=se,
        n=n,
        recovered=bool(recovered),
        method=method,
    )


def _estimate(effect: PlantedEffect, values: np.ndarray, method: str, overlap: int = 1) -> EffectEstimate:
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 10:
        return _result(effect, method, n)
    se = float(values.std(ddof=1) / np.sqrt(max(1.0, n / overlap)))
    return _result(effect, method, n, float(values.mean()), se)


def _slope(effect: PlantedEffect, x: np.ndarray, y: np.ndarray, method: str) -> EffectEstimate:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 30 or np.std(x) == 0:
        return _result(effect, method, n)
    beta, alpha = np.polyfit(x, y, 1)
    resid = y - (alpha + beta * x)
    se = float(np.sqrt(resid.var(ddof=2) / (n * x.var())))
    return _result(effect, method, n, float(beta), se)


def measure_planted_effects(features: pd.DataFrame, labels: pd.DataFrame) -> list[EffectEstimate]:
    """One estimate per planted effect from fct_features_daily and fct_labels_daily (contract column names)."""
    frame = features.merge(labels, on=["symbol", "trade_date"], how="left", suffixes=("", "_label"))
    frame = frame.sort_values(["symbol", "trade_date"])
    by_name = {e.name: e for e in PLANTED_EFFECTS}
    out = []

    effect = by_name["cot_speculator_extreme_reversal"]
    rows = frame[frame["symbol"].isin(effect.instruments)].copy()
    new_report = rows.groupby("symbol")["cot_days_since_report"].diff() < 0  # the day a new report is in use
    extreme = rows["cot_spec_z52"].abs() > COT_Z_THRESHOLD
    chosen = rows[new_report & extreme]
    out.append(
        _estimate(
            effect,
            (chosen["fwd_ret_5d"] * np.sign(chosen["cot_spec_z52"])).to_numpy(float),
            "mean 5-day forward return x sign(z) on release days with |z52| > 1.5 (instrument terms)",
        )
    )

    effect = by_name["vix_backwardation_spx_rebound"]
    rows = frame[frame["symbol"].isin(effect.instruments) & frame["vix_backwardation"].notna()]
    back = rows[rows["vix_backwardation"] == 1.0]["fwd_ret_5d"].to_numpy(float)
    contango = rows[rows["vix_backwardation"] == 0.0]["fwd_ret_5d"].to_numpy(float)
    back, contango = back[np.isfinite(back)], contango[np.isfinite(contango)]
    gap = float(back.mean() - contango.mean()) if len(back) > 10 and len(contango) > 10 else None
    se = (
        float(np.sqrt(back.var(ddof=1) / (len(back) / 5) + contango.var(ddof=1) / (len(contango) / 5)))
        if gap is not None
        else None
    )
    out.append(
        EffectEstimate(
            name=effect.name,
            expected=effect.size,
            tolerance=effect.tolerance,
            measured=gap,
            std_error=se,
            n=len(back),
            method="mean 5-day forward return after backwardation minus after contango",
            recovered=gap is not None and abs(gap - effect.size) <= effect.tolerance and gap > 0,
        )
    )

    effect = by_name["eia_inventory_surprise_wti"]
    rows = frame[frame["symbol"].isin(effect.instruments)]
    chosen = rows[rows["energy_days_since_release"] == 0]
    # per 3,000 thousand barrels (the simulated surprise's sd): the marts' own z-score divides by the trailing sd of
    # surprises as published, which also holds the noise of the 5-year average, so it is not the world's unit
    out.append(
        _slope(
            effect,
            chosen["crude_change_vs_5y"].to_numpy(float) / SURPRISE_SD_KBBL,
            chosen["fwd_ret_5d"].to_numpy(float),
            "slope of the 5-day forward return from the release day on the surprise (change minus its 5-year "
            "same-week average) in units of 3,000 thousand barrels",
        )
    )

    effect = by_name["mvrv_mean_reversion"]
    rows = frame[frame["symbol"].isin(effect.instruments)]
    out.append(
        _slope(
            effect,
            rows["mvrv_z365"].clip(-2.5, 2.5).to_numpy(float),
            rows["fwd_ret_10d"].to_numpy(float),
            "slope of the 10-day forward return on the 365-day MVRV z-score",
        )
    )
    return out
