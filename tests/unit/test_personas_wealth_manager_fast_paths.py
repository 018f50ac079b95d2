"""The wealth manager's numpy paths give exactly what the pandas definitions they replace give.

The price chart is cut per day from one pivot of all days (`_chart_closes`, `_weekly_rebased`) instead of
`prices_wide(...).ffill().resample("W-FRI").last()` rebased to its first row; class scores are NaN-skipping numpy
sums instead of `Series.sum`. Random prices with gaps, missing closes and symbols that start late or stop early.
"""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from assets.personas.wealth_manager import _chart_closes, _class_score, _weekly_rebased

SYMBOLS = ("SPX", "UST10Y", "WTI", "EURUSD", "BTC")


def _prices(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    frames = []
    for symbol in (*SYMBOLS, "OTHER"):
        keep = rng.random(len(days)) < rng.uniform(0.3, 1.0)  # gaps: weekends, holidays, whole weeks
        start, stop = sorted(rng.integers(0, len(days), size=2))
        keep[:start] = keep[:start] & (rng.random() < 0.5)  # some symbols start late, some stop early
        keep[stop:] = keep[stop:] & (rng.random() < 0.5)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        close[rng.random(len(days)) < 0.05] = np.nan  # rows without a close
        frames.append(pd.DataFrame({"symbol": symbol, "trade_date": days[keep], "close": close[keep]}))
    return pd.concat(frames, ignore_index=True)


def _pandas_chart(prices: pd.DataFrame, day: date, lookback: int) -> tuple[list[str], dict[str, list[float | None]]]:
    """The chart as it was defined on frames (PersonaInputs.prices_wide, then resample and rebase)."""
    wide = prices.pivot_table(index="trade_date", columns="symbol", values="close", aggfunc="last")
    ts = pd.Timestamp(day)
    window = wide[(wide.index <= ts) & (wide.index > ts - pd.Timedelta(days=lookback))]
    window = window[[s for s in window.columns if s in SYMBOLS]].dropna(how="all").dropna(how="all", axis=1)
    symbols = [s for s in SYMBOLS if s in set(window.columns)]
    if not symbols:
        return [], {}
    weekly = window.sort_index().ffill().resample("W-FRI").last().dropna(how="all")
    norm = (weekly / weekly.bfill().iloc[0] * 100).round(4)
    series = {s: [None if pd.isna(v) else float(v) for v in norm[s]] for s in symbols}
    return [d.date().isoformat() for d in norm.index], series


@pytest.mark.parametrize("seed", range(6))
def test_weekly_rebased_closes_equal_the_pandas_definition(seed):
    prices = _prices(seed)
    closes = _chart_closes(SimpleNamespace(prices=prices), SYMBOLS)  # type: ignore[arg-type]
    rng = np.random.default_rng(100 + seed)
    for _ in range(12):
        day = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 760)))).date()
        lookback = int(rng.choice([7, 30, 90, 365, 800]))
        labels, series = _weekly_rebased(closes, day, lookback)
        expected_labels, expected = _pandas_chart(prices, day, lookback)
        assert labels == expected_labels, (day, lookback)
        assert {s: series[s] for s in expected} == expected, (day, lookback)
        assert set(series) == set(expected)


@pytest.mark.parametrize("seed", range(20))
def test_class_score_equals_the_pandas_sums(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 15))
    rows = pd.DataFrame({"confidence": rng.random(n), "ensemble_score": rng.uniform(-1, 1, n)})
    rows.loc[rng.random(n) < 0.2, "ensemble_score"] = np.nan
    weight = float(rows["confidence"].sum()) if not rows.empty else 0.0
    expected = float((rows["confidence"] * rows["ensemble_score"]).sum() / weight) if weight > 0 else None
    score = _class_score(rows["confidence"].to_numpy(), rows["ensemble_score"].to_numpy())
    assert score == expected or (
        score is not None and expected is not None and math.isnan(score) and math.isnan(expected)
    )
