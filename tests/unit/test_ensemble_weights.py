"""The ensemble's weights: each component's IC is scipy's Spearman correlation to the bit (ranked without scipy's
per-call checks, the returns ranked once per cutoff), 0 where it is undefined."""

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from assets.signals.ensemble import COMPONENTS, EnsembleConfig, _ic, learn_weights


def _scipy_ic(x: np.ndarray, y: np.ndarray) -> float:
    """The definition the weights used before: spearmanr, 0 when undefined."""
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    value = spearmanr(x, y).statistic
    return 0.0 if value is None or not np.isfinite(value) else float(value)


def test_ic_equals_scipys_spearman_and_is_zero_where_undefined():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=500), rng.normal(size=500)
    for a, b in ((x, y), (np.round(x, 1), y), (np.sign(x), np.round(y, 2)), (x[:3], y[:3])):
        assert _ic(a, b) == _scipy_ic(a, b) != 0.0
    with_nan = x.copy()
    with_nan[7] = np.nan
    for a, b in ((with_nan, y), (x, with_nan), (np.zeros(500), y), (x, np.ones(500)), (x[:2], y[:2])):
        assert _ic(a, b) == _scipy_ic(a, b) == 0.0


def test_learned_weights_are_those_of_scipys_ic():
    rng = np.random.default_rng(9)
    n = 3000
    dates = pd.bdate_range("2020-01-01", periods=n // 3).repeat(3)
    fwd = rng.normal(size=n)
    scores = pd.DataFrame(
        {
            "trade_date": dates,
            "label_end": dates + pd.Timedelta(days=7),
            "cutoff": pd.to_datetime(np.where(np.arange(n) < n // 2, "2020-06-30", "2021-06-30")),
            "fwd_ret": fwd,
            "model": fwd * 0.1 + rng.normal(size=n),
        }
    )
    for i, column in enumerate(COMPONENTS[1:]):
        scores[column] = np.round(np.clip(fwd * 0.05 * (i - 3) + rng.normal(size=n), -1, 1), 1)
    scores[COMPONENTS[1]] = 0.0  # a component with no view: IC 0
    scores.loc[5, COMPONENTS[2]] = np.nan  # a NaN: IC 0
    weights = learn_weights(scores, EnsembleConfig(min_rows=200))
    for cutoff, rows in weights.groupby("cutoff"):
        past = scores[scores["label_end"] <= cutoff]
        for row in rows.itertuples():
            expected = _scipy_ic(past[row.component].to_numpy(float), past["fwd_ret"].to_numpy(float))
            assert row.ic == expected
    assert (weights["ic"] != 0).sum() >= 8 and (weights["weight"] > 0).any()
    assert (weights.loc[weights["component"].isin(COMPONENTS[1:3]), "ic"] == 0).all()
