"""Sizing (capped Kelly, regime table, drawdown state machine) and risk (VaR, ES) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assets.signals.risk import (
    RiskConfig,
    VarMethod,
    gaussian_es,
    historical_es,
    historical_var,
    parametric_var,
    risk_report,
)
from assets.signals.sizing import (
    DEFAULT_REGIME_MULTIPLIERS,
    DrawdownConfig,
    DrawdownGuard,
    DrawdownState,
    SizingConfig,
    drawdown_states,
    kelly_fraction,
    position_size,
    regime_multiplier,
    size_frame,
)

# --------------------------------------------------------------------------------------------------------- Kelly


def test_kelly_hand_values():
    # even money, 60% win: f = 0.6 - 0.4 = 0.2
    assert kelly_fraction(0.6, 1.0, 1.0) == pytest.approx(0.2)
    # 2:1 payoff, 40% win: f = 0.4 - 0.6 / 2 = 0.1
    assert kelly_fraction(0.4, 0.02, 0.01) == pytest.approx(0.1)
    # half Kelly
    assert kelly_fraction(0.6, 1.0, 1.0, multiplier=0.5) == pytest.approx(0.1)


def test_kelly_is_capped_at_25_percent():
    # 2:1 payoff, 55% win: f = 0.55 - 0.45 / 2 = 0.325 -> 0.25
    assert kelly_fraction(0.55, 0.02, 0.01) == pytest.approx(0.25)
    assert kelly_fraction(0.99, 5.0, 1.0) == pytest.approx(0.25)
    assert position_size(0.55, 0.02, 0.01).kelly == pytest.approx(0.25)


@pytest.mark.parametrize(("p", "win", "loss"), [(0.5, 1.0, 1.0), (0.4, 1.0, 1.0), (0.2, 0.01, 0.02), (0.0, 1.0, 1.0)])
def test_no_edge_means_no_position(p, win, loss):
    assert kelly_fraction(p, win, loss) == 0.0
    decision = position_size(p, win, loss, regime="STRONG_BULL")
    assert decision.size == 0.0
    assert decision.kelly_raw <= 0.0


@pytest.mark.parametrize(("p", "win", "loss"), [(1.2, 1.0, 1.0), (-0.1, 1.0, 1.0), (0.6, 0.0, 1.0), (0.6, 1.0, -1.0)])
def test_invalid_bets_are_rejected(p, win, loss):
    with pytest.raises(ValueError):
        kelly_fraction(p, win, loss)


def test_regime_table_and_multipliers():
    assert DEFAULT_REGIME_MULTIPLIERS["STRONG_BULL"] == 1.0
    assert DEFAULT_REGIME_MULTIPLIERS["CRISIS"] == 0.25
    assert DEFAULT_REGIME_MULTIPLIERS["STRONG_BEAR"] == 0.5
    ordered = ["STRONG_BULL", "BULL", "WEAK_BULL", "RECOVERY", "SIDEWAYS", "WEAK_BEAR", "BEAR", "STRONG_BEAR", "CRISIS"]
    values = [DEFAULT_REGIME_MULTIPLIERS[name] for name in ordered]
    assert values == sorted(values, reverse=True)
    assert regime_multiplier(None) == 0.5
    assert regime_multiplier("NOT_A_REGIME") == 0.5
    # 0.2 Kelly in a crisis, with the drawdown guard at REDUCE_50
    decision = position_size(0.6, 1.0, 1.0, regime="CRISIS", drawdown_multiplier=0.5)
    assert decision.size == pytest.approx(0.2 * 0.25 * 0.5)
    assert decision.regime_multiplier == 0.25


def test_size_frame_matches_scalar_sizing():
    frame = pd.DataFrame(
        {
            "p_win": [0.6, 0.55, 0.5, np.nan, 0.6],
            "avg_win": [1.0, 0.02, 1.0, 1.0, 1.0],
            "avg_loss": [1.0, 0.01, 1.0, 1.0, 0.0],
            "regime": ["BULL", "CRISIS", "BULL", "BULL", None],
            "direction": [1, -1, 1, 1, 1],
        }
    )
    out = size_frame(frame, SizingConfig())
    assert out["size"].tolist() == pytest.approx([0.2 * 0.9, 0.25 * 0.25, 0.0, 0.0, 0.0])
    assert out["signed_size"].tolist() == pytest.approx([0.18, -0.0625, 0.0, 0.0, 0.0])
    assert out.loc[0, "size"] == pytest.approx(position_size(0.6, 1.0, 1.0, regime="BULL").size)


# ----------------------------------------------------------------------------------------------- drawdown machine


def test_drawdown_state_machine_on_a_hand_made_curve():
    cfg = DrawdownConfig()  # 5 / 10 / 15 percent, recover at half the level's threshold, 5 rows in a state
    curve = [
        (100, "FULL_SIZE"),
        (96, "FULL_SIZE"),  # 4% below the peak
        (94.5, "REDUCE_50"),  # 5.5%
        (89, "REDUCE_75"),  # 11%
        (84, "STOP_TRADING"),  # 16%
        (86, "STOP_TRADING"),  # 14%
        (90, "STOP_TRADING"),  # 10%: still above the 7.5% way out
        (93, "STOP_TRADING"),  # 7%, but only 3 rows in the state so far
        (93, "STOP_TRADING"),  # 4 rows
        (93, "REDUCE_75"),  # 5 rows done and 7% <= 7.5%: one level down, not straight to full size
        (96, "REDUCE_75"),  # 4% <= 5% but just arrived
        (96, "REDUCE_75"),
        (96, "REDUCE_75"),
        (96, "REDUCE_75"),
        (96, "REDUCE_50"),  # 5 rows in REDUCE_75
        (96, "REDUCE_50"),  # 4% is below REDUCE_50's 5% entry but above its 2.5% exit: hysteresis holds
        (88, "REDUCE_75"),  # 12%: escalation is immediate
        (101, "REDUCE_75"),  # a new peak, still 4 more rows to serve
        (101, "REDUCE_75"),
        (101, "REDUCE_75"),
        (101, "REDUCE_75"),
        (101, "REDUCE_50"),
        (101, "REDUCE_50"),
        (101, "REDUCE_50"),
        (101, "REDUCE_50"),
        (101, "REDUCE_50"),
        (101, "FULL_SIZE"),
    ]
    frame = drawdown_states([equity for equity, _ in curve], cfg)
    assert frame["state"].tolist() == [state for _, state in curve]
    assert frame.loc[4, "drawdown"] == pytest.approx(0.16)
    assert frame.loc[17, "peak"] == 101
    multipliers = dict(zip(frame["state"], frame["multiplier"], strict=True))
    assert multipliers == {"FULL_SIZE": 1.0, "REDUCE_50": 0.5, "REDUCE_75": 0.25, "STOP_TRADING": 0.0}


def test_drawdown_guard_jumps_straight_to_stop_and_validates():
    guard = DrawdownGuard()
    guard.update(100.0)
    step = guard.update(80.0)
    assert step.state is DrawdownState.STOP_TRADING
    assert step.multiplier == 0.0
    with pytest.raises(ValueError):
        guard.update(0.0)
    with pytest.raises(ValueError):
        DrawdownConfig(reduce_50_at=0.1, reduce_75_at=0.05)


def test_drawdown_states_keeps_a_series_index():
    index = pd.date_range("2024-01-01", periods=3)
    frame = drawdown_states(pd.Series([1.0, 0.9, 0.95], index=index))
    assert list(frame.index) == list(index)
    assert frame["state"].tolist() == ["FULL_SIZE", "REDUCE_75", "REDUCE_75"]


# ------------------------------------------------------------------------------------------------------------ VaR

# r_i = (i - 50) / 1000, i = 0..99: from -5.0% to +4.9% in steps of 0.1%
LADDER = np.array([(i - 50) / 1000 for i in range(100)])
# +-1% alternating: mean 0, sample sd = 0.01 * sqrt(100 / 99)
ALTERNATING = np.array([0.01, -0.01] * 50)
SD_ALT = 0.01 * math.sqrt(100 / 99)
Z95, Z99 = 1.6448536269514722, 2.3263478740408408  # Phi^-1(0.95), Phi^-1(0.99)
PDF95 = 0.10313564037537128  # phi(Z95)


def test_historical_var_and_es_hand_values():
    # 95%: k = ceil(100 * 0.05) = 5; the 5th worst return is -4.6%; the 5 worst average -4.8%
    assert historical_var(LADDER, 0.95, log_returns=False) == pytest.approx(0.046)
    assert historical_es(LADDER, 0.95, log_returns=False) == pytest.approx(0.048)
    # 99%: k = 1
    assert historical_var(LADDER, 0.99, log_returns=False) == pytest.approx(0.050)
    # a position of 1,000,000 over 4 days: sqrt(4) = 2 times the 1-day return
    assert historical_var(LADDER, 0.95, horizon_days=4, position=1e6, log_returns=False) == pytest.approx(92_000)
    # log returns: the loss is 1 - exp(-4.6%)
    assert historical_var(LADDER, 0.95) == pytest.approx(1 - math.exp(-0.046))
    # a short position loses on the upper tail: the 5th best return is +4.5%
    assert historical_var(LADDER, 0.95, position=-1.0, log_returns=False) == pytest.approx(0.045)
    assert historical_var(LADDER, 0.95, position=-1.0) == pytest.approx(math.exp(0.045) - 1)


def test_gaussian_var_and_es_hand_values():
    assert parametric_var(ALTERNATING, 0.95, log_returns=False) == pytest.approx(Z95 * SD_ALT)
    assert parametric_var(ALTERNATING, 0.99, log_returns=False) == pytest.approx(Z99 * SD_ALT)
    assert parametric_var(ALTERNATING, 0.99, horizon_days=10, log_returns=False) == pytest.approx(
        Z99 * SD_ALT * math.sqrt(10)
    )
    assert parametric_var(ALTERNATING, 0.95) == pytest.approx(1 - math.exp(-Z95 * SD_ALT))
    assert parametric_var(ALTERNATING, 0.95, position=-2.0) == pytest.approx(2 * (math.exp(Z95 * SD_ALT) - 1))
    # ES of a normal: sigma * phi(z) / (1 - c)
    assert gaussian_es(ALTERNATING, 0.95, log_returns=False) == pytest.approx(SD_ALT * PDF95 / 0.05)
    # with the mean: mu = 1% a day, the 95% quantile moves up by mu
    drifted = ALTERNATING + 0.01
    assert parametric_var(drifted, 0.95, log_returns=False, include_mean=True) == pytest.approx(Z95 * SD_ALT - 0.01)


def test_gaussian_es_with_log_returns_matches_simulation():
    rng = np.random.default_rng(3)
    window = rng.normal(0.0, 0.03, 500)
    sd = window.std(ddof=1)
    draws = rng.normal(0.0, sd, 2_000_000)
    for position in (1.0, -1.0):
        pnl = np.sort(position * np.expm1(draws))
        tail = pnl[: int(len(pnl) * 0.01)]
        assert gaussian_es(window, 0.99, position=position) == pytest.approx(-tail.mean(), rel=0.01)
        assert parametric_var(window, 0.99, position=position) == pytest.approx(-tail[-1], rel=0.01)


def test_cornish_fisher_hand_values():
    # +-1%: skewness 0, excess kurtosis -2 (two points): z_cf = z + (z^3 - 3z)(-2)/24
    z = -Z95
    z_cf = z + (z**3 - 3 * z) * (-2) / 24
    assert parametric_var(ALTERNATING, 0.95, log_returns=False, cornish_fisher=True) == pytest.approx(-z_cf * SD_ALT)
    # a skewed window: 90 days of +1%, 10 days of -9% (mean 0)
    skewed = np.array([0.01] * 90 + [-0.09] * 10)
    dev = skewed - skewed.mean()
    m2, m3, m4 = (dev**2).mean(), (dev**3).mean(), (dev**4).mean()
    s, k = m3 / m2**1.5, m4 / m2**2 - 3
    z = -Z99
    z_cf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
    sd = skewed.std(ddof=1)
    assert s < 0  # left-skewed: the adjustment makes the long VaR larger than the Gaussian one
    got = parametric_var(skewed, 0.99, log_returns=False, cornish_fisher=True)
    assert got == pytest.approx(-z_cf * sd)
    assert got > parametric_var(skewed, 0.99, log_returns=False)
    # a short position sees the negated returns: right-skewed, smaller VaR than the Gaussian one
    assert parametric_var(skewed, 0.99, position=-1.0, log_returns=False, cornish_fisher=True) < parametric_var(
        skewed, 0.99, position=-1.0, log_returns=False
    )


def test_risk_report_and_agreement_on_normal_data():
    rng = np.random.default_rng(11)
    window = rng.normal(0.0, 0.01, 5000)
    report = risk_report(window, position=100.0, config=RiskConfig(horizon_days=1))
    assert report.n_obs == 5000
    assert len(report.estimates) == 6
    for c in (0.95, 0.99):
        hist = report.get(VarMethod.HISTORICAL, c)
        gauss = report.get(VarMethod.GAUSSIAN, c)
        cf = report.get(VarMethod.CORNISH_FISHER, c)
        assert hist.var == pytest.approx(gauss.var, rel=0.06)
        assert cf.var == pytest.approx(gauss.var, rel=0.03)
        assert hist.expected_shortfall > hist.var
        assert gauss.expected_shortfall > gauss.var
        assert cf.expected_shortfall is None
    assert report.get("GAUSSIAN", 0.99).var > report.get("GAUSSIAN", 0.95).var


def test_risk_needs_enough_returns():
    with pytest.raises(ValueError):
        historical_var([0.01] * 10)
    with pytest.raises(ValueError):
        parametric_var(ALTERNATING, confidence=1.2)
    # NaNs are dropped, not counted
    assert historical_var(np.r_[LADDER, [np.nan] * 5], 0.95, log_returns=False) == pytest.approx(0.046)


def test_trailing_var_is_each_windows_historical_and_parametric_var_to_the_bit():
    """trailing_var shares each window's sort and standard deviation between the confidence levels: every value is
    still exactly what historical_var and parametric_var give for that window (gaps and short windows included)."""
    from assets.signals.risk import historical_var, parametric_var, trailing_var

    rng = np.random.default_rng(11)
    returns = rng.standard_t(4, 400) * 0.01
    returns[[5, 50, 51, 52, 200]] = np.nan
    window, min_obs = 60, 30
    out = trailing_var(returns, window, min_obs)
    assert np.isnan(out["historical_95_long"][: min_obs - 1]).all()
    checked = 0
    for t in range(len(returns)):
        win = returns[max(0, t - window + 1) : t + 1]
        if np.isfinite(win).sum() < min_obs:
            assert all(np.isnan(v[t]) for v in out.values())
            continue
        for c in (0.95, 0.99):
            for side, position in (("long", 1.0), ("short", -1.0)):
                key = f"{round(c * 100)}_{side}"
                assert out[f"historical_{key}"][t] == historical_var(win, c, position=position, min_obs=min_obs)
                assert out[f"parametric_{key}"][t] == parametric_var(win, c, position=position, min_obs=min_obs)
                checked += 1
    assert checked > 1400
