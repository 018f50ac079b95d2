"""The oracle of the simulated world: point in time (only triggers public by D) and an unbiased conditional mean."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from resources.simulated.oracle import known_effects, oracle_scores, regime_means
from resources.simulated.world import REGIME_MU, REGIME_TRANSITIONS, world_for
from resources.sources.cot.calendar import release_date as cot_release_date

SEED = 7


def test_regime_means_follow_the_transition_matrix():
    means = regime_means(2)
    assert means[:, 0] == pytest.approx(REGIME_TRANSITIONS @ REGIME_MU)
    assert means[:, 1] == pytest.approx(REGIME_TRANSITIONS @ REGIME_TRANSITIONS @ REGIME_MU)


def test_known_effects_use_only_triggers_public_by_d():
    """Remove every trigger after T (COT and EIA releases, VIX closes): the oracle's drifts up to T are unchanged."""
    world = world_for(SEED)
    cut = pd.Timestamp("2021-03-10")
    releases = world.positioning["report_date"].map(lambda d: pd.Timestamp(cot_release_date(pd.Timestamp(d).date())))
    daily = world.daily.copy()
    daily.loc[daily.index > cut, "VIX"] = 0.0  # no backwardation after T
    truncated = dataclasses.replace(
        world,
        positioning=world.positioning[releases <= cut],
        petroleum=world.petroleum[world.petroleum["release_day"] <= cut],
        daily=daily,
    )
    full, part = known_effects(world, 5), known_effects(truncated, 5)
    pd.testing.assert_frame_equal(full.loc[:cut], part.loc[:cut])
    assert not full.loc[cut:].equals(part.loc[cut:])  # the cut removed something after T


def test_the_oracle_is_an_unbiased_conditional_mean():
    """Regressing realized 5-day returns on the oracle's expectation gives a slope near 1 (pooled, every 5th day):
    the oracle is the drift of the generating process, neither shrunk nor inflated."""
    world = world_for(SEED)
    scores = oracle_scores(SEED, (5,))
    prices = {"SPX": "SPX", "NDX": "NDX", "WTI": "RWTC", "BRENT": "RBRTE", "EURUSD": "DEXUSEU", "USDJPY": "DEXJPUS"}
    frames = []
    for symbol, column in prices.items():
        logp = np.log(world.daily[column])
        expected = scores[scores["symbol"] == symbol].set_index("trade_date")["expected"]
        frames.append(pd.concat([expected, (logp.shift(-5) - logp).rename("realized")], axis=1).dropna().iloc[300::5])
    pooled = pd.concat(frames)
    slope, _ = np.polyfit(pooled["expected"], pooled["realized"], 1)
    assert 0.7 < slope < 1.5, slope


def test_the_vix_oracle_is_its_mean_reversion_in_closed_form():
    """VIX has no planted effect; the oracle expects its components to revert (regime, GARCH, fear and spot terms):
    realized 5-day log changes regress on it with a slope near 1, and it calls the direction of large moves."""
    world = world_for(SEED)
    scores = oracle_scores(SEED, (5,))
    expected = scores[scores["symbol"] == "VIX"].set_index("trade_date")["expected"]
    logv = np.log(world.daily["VIX"])
    pooled = pd.concat([expected, (logv.shift(-5) - logv).rename("realized")], axis=1).dropna().iloc[300::5]
    slope, _ = np.polyfit(pooled["expected"], pooled["realized"], 1)
    assert 0.8 < slope < 1.25, slope
    large = pooled[pooled["realized"].abs() > 0.05]
    assert (np.sign(large["expected"]) == np.sign(large["realized"])).mean() > 0.6
