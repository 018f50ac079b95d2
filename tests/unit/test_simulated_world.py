"""The simulated world and publisher: deterministic, prefix-stable, realistic, with the documented effects."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from resources.simulated.cboe import history, restatements
from resources.simulated.world import PLANTED_EFFECTS, REGIMES, build_world, world_for


@pytest.fixture(scope="module")
def world():
    return world_for(7)


def test_same_seed_same_world_other_seed_other_world(world):
    again = build_world.__wrapped__(7)
    pd.testing.assert_frame_equal(world.daily, again.daily)
    other = world_for(8)
    assert not np.allclose(world.daily["SPX"].to_numpy()[-100:], other.daily["SPX"].to_numpy()[-100:])


def test_history_as_of_an_earlier_day_is_a_prefix_except_restatements(world):
    early, late = date(2019, 6, 28), date(2020, 6, 30)
    a = history(7, "VIX", early)
    b = history(7, "VIX", late).loc[: pd.Timestamp(early)]
    changed = a.index[~np.isclose(a["CLOSE"], b["CLOSE"])]
    corrected = {pd.Timestamp(r.observed) for r in restatements(7, "VIX") if early < r.effective <= late}
    assert set(changed) <= corrected
    assert a.index.max() == pd.Timestamp(early) and b.index.equals(a.index)


def test_markets_look_like_markets(world):
    daily = world.daily.loc["2005":"2025"]
    spx = np.log(daily["SPX"]).diff().dropna()
    assert 0.12 < spx.std() * np.sqrt(252) < 0.25
    assert 14 < daily["VIX"].mean() < 26
    assert 0.05 < (daily["VIX"] > daily["VIX3M"]).mean() < 0.25  # backwardation is the exception
    assert np.corrcoef(spx, np.log(daily["VIX"]).diff().dropna())[0, 1] < -0.3
    # volatility clusters: absolute returns are autocorrelated
    assert spx.abs().autocorr(lag=1) > 0.1
    assert set(world.regimes.unique()) <= set(REGIMES)
    assert (daily[["DGS10", "DGS2", "DGS3MO"]] > 0).all().all()
    assert (daily[[f"RCLC{k}" for k in range(1, 5)]] > 0).all().all()


def test_planted_effects_are_documented_and_modest():
    names = {e.name for e in PLANTED_EFFECTS}
    assert names == {
        "cot_speculator_extreme_reversal",
        "vix_backwardation_spx_rebound",
        "eia_inventory_surprise_wti",
        "mvrv_mean_reversion",
    }
    for effect in PLANTED_EFFECTS:
        assert abs(effect.size) <= 0.02 and effect.tolerance > 0 and effect.horizon_days in (5, 10)


def test_vix_backwardation_effect_is_in_the_data(world):
    """The planted drift is visible in the world's own prices (later stages must recover it from the lake)."""
    daily = world.daily.loc["2001":"2029"]
    fwd5 = np.log(daily["SPX"]).shift(-5) - np.log(daily["SPX"])
    signal = daily["VIX"] > daily["VIX3M"]
    gap = fwd5[signal].mean() - fwd5[~signal].mean()
    effect = next(e for e in PLANTED_EFFECTS if e.name == "vix_backwardation_spx_rebound")
    assert abs(gap - effect.size) < effect.tolerance + 0.004
