"""Institutional's numpy helpers give exactly what the pandas expressions they replace give (bit for bit: the
outputs are hashed into recommendation ids)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.personas.common import feature_refs
from assets.personas.institutional import (
    _column_groups,
    _DayFeatures,
    _ma200_state,
    _mean,
    _rank_descending,
)
from tests.unit.test_personas_inputs import DAY, make_inputs


def _samples(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 2, 5, 9, 17, 40, 200):
        values = rng.normal(0, 0.2, n)
        values = np.where(rng.random(n) < 0.5, np.round(values, 1), values)  # ties
        out.append(values)
        with_nan = values.copy()
        with_nan[rng.random(n) < 0.25] = np.nan
        out.append(with_nan)
    out.append(np.array([0.1, 0.1, -0.0, 0.0, 0.1, np.inf, -np.inf, np.nan]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_descending_is_pandas_rank_first(seed):
    for values in _samples(seed):
        expected = pd.Series(values).rank(ascending=False, method="first").tolist()
        assert _rank_descending(values) == [None if np.isnan(r) else int(r) for r in expected]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_is_series_mean_bit_for_bit(seed):
    for values in _samples(seed):
        with np.errstate(invalid="ignore"):  # inf - inf
            expected = float(pd.Series(values).mean())
        got = _mean(values)
        assert (np.isnan(got) and np.isnan(expected)) or got == expected
    assert np.isnan(_mean(np.array([np.nan, np.nan])))


def test_column_groups_are_numpys_unique_columns():
    rng = np.random.default_rng(3)
    for _ in range(100):
        rows, columns = rng.integers(1, 30), rng.integers(1, 15)
        present = (rng.random((rows, 4)) < 0.7)[:, rng.integers(0, 4, columns)]
        patterns, group_of = np.unique(present.T, axis=0, return_inverse=True)
        got_patterns, got_groups = _column_groups(present)
        assert [p.tolist() for p in got_patterns] == [p.tolist() for p in patterns]
        expected = [np.flatnonzero(group_of.reshape(-1) == g).tolist() for g in range(len(patterns))]
        assert [g.tolist() for g in got_groups] == expected


def _ma200_reference(dist: pd.Series, lookback: int) -> str:
    dist = dist.dropna()
    if dist.empty:
        return "UNKNOWN"
    now = dist.iloc[-1] > 0
    if (dist.iloc[-(lookback + 1) :] > 0).nunique() > 1:
        return "CROSSED_ABOVE" if now else "CROSSED_BELOW"
    return "ABOVE" if now else "BELOW"


def test_ma200_state_is_the_pandas_definition():
    rng = np.random.default_rng(4)
    for _ in range(300):
        dist = rng.normal(0.01, 0.02, rng.integers(0, 12))
        dist[rng.random(len(dist)) < 0.2] = np.nan
        for lookback in (1, 3, 5, 20):
            assert _ma200_state(dist, lookback) == _ma200_reference(pd.Series(dist), lookback)


def test_day_features_refs_are_feature_refs():
    feats = make_inputs().features_asof(DAY)
    day = _DayFeatures.of(feats)
    symbols = sorted(feats["symbol"])
    for symbol in symbols:
        assert day.refs_of([symbol]) == feature_refs([symbol], feats)
    assert day.refs_of(symbols[:4]) == feature_refs(symbols[:4], feats)
    assert day.refs_of(["NOT_A_SYMBOL"]) == feature_refs(["NOT_A_SYMBOL"], feats) == []


def test_correlation_alerts_are_computed_once_per_day_and_settings():
    """The institutional and wealth manager outputs show the same alerts: the second ask is the kept answer (a list
    of its own), other settings or other prices compute their own."""
    from assets.personas.config import CorrelationConfig, InstitutionalConfig
    from assets.personas.institutional import correlation_alerts
    from tests.unit.test_personas_inputs import DAY, make_inputs

    inputs = make_inputs()
    config = InstitutionalConfig(correlation=CorrelationConfig(min_change=0.001, surge_abs_short=0.0))
    first = correlation_alerts(DAY, inputs, config)
    again = correlation_alerts(DAY, inputs, config)
    assert first and again == first and again is not first and all(a is b for a, b in zip(first, again, strict=True))
    other = InstitutionalConfig(correlation=CorrelationConfig(min_change=0.001, surge_abs_short=0.0, max_alerts=1))
    assert len(correlation_alerts(DAY, inputs, other)) == 1
    copy = inputs.model_copy(update={"prices": inputs.prices.copy()})
    fresh = correlation_alerts(DAY, copy, config)
    assert fresh == first and fresh[0] is not first[0]
