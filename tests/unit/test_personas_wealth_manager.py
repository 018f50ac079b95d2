"""Wealth manager content: regime and confidence, allocation adjustments, key signals, risk factors, chart data."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.personas.config import WealthManagerConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.wealth_manager import build_wealth_manager
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def output(inputs):
    return build_wealth_manager(inputs, DAY)


def test_regime_and_confidence(output):
    regime = output.regime
    assert (regime.regime, regime.confidence, regime.subject) == ("BULL", 0.72, "SPX")
    assert 0 < regime.agreement <= 1
    # confidence with its meaning, never a "probability of 72%" that reads like a forecast
    assert "fairly confident" in regime.text and "(0.72 " in regime.text and "not a forecast" in regime.text
    assert "72%" not in regime.text
    assert output.week_start.weekday() == 0 and output.week_start <= DAY


def test_allocation_adjustments_are_capped_rounded_and_balanced(output):
    config = WealthManagerConfig()
    allocations = {a.asset_class: a for a in output.allocations}
    assert set(allocations) == set(config.strategic_weights) - set(config.excluded_asset_classes)
    assert sum(a.target_weight for a in output.allocations) == pytest.approx(1.0)
    for a in output.allocations:
        assert a.target_weight >= 0
        if a.asset_class != "cash":
            assert abs(a.adjustment) <= config.max_tilt + 1e-9
            assert round(a.adjustment / config.step, 6) == pytest.approx(round(a.adjustment / config.step))
        expected = "OVERWEIGHT" if a.adjustment >= 0.005 else "UNDERWEIGHT" if a.adjustment <= -0.005 else "NEUTRAL"
        assert a.action == expected
    assert allocations["equity"].action == "OVERWEIGHT"  # SPX leans up, NDX flat
    assert allocations["commodity"].action == "UNDERWEIGHT"  # oil leans down


def test_risk_off_regime_cuts_risky_classes(inputs):
    # without the drawdown guard, so that the regime's cut is the only de-risking
    signals = inputs.signals.assign(drawdown_state="FULL_SIZE")
    unguarded = build_wealth_manager(inputs.model_copy(update={"signals": signals.copy()}), DAY)
    signals.loc[(signals["signal_date"] == pd.Timestamp(DAY)) & (signals["symbol"] == "SPX"), "regime"] = "BEAR"
    bear = build_wealth_manager(inputs.model_copy(update={"signals": signals}), DAY)
    base = {a.asset_class: a.adjustment for a in unguarded.allocations}
    cut = {a.asset_class: a.adjustment for a in bear.allocations}
    for cls in ("equity", "crypto", "commodity"):
        assert cut[cls] < base[cls] or cut[cls] == -min(0.05, WealthManagerConfig().strategic_weights[cls])
    assert cut["rates"] == base["rates"] and cut["cash"] > base["cash"]
    assert any(r.factor == "regime" and "bear regime" in r.text for r in bear.risk_factors)


def test_key_signals_are_the_most_convincing_non_flat_calls(output):
    key = output.key_signals
    assert 0 < len(key) <= WealthManagerConfig().key_signals
    assert all(k.action in ("UP", "DOWN") for k in key)
    assert all(round(100 * k.probability) > 50 for k in key)  # a key signal's direction is the more likely side
    assert [k.conviction for k in key] == sorted((k.conviction for k in key), reverse=True)
    assert key[0].subject == "WTI"


def test_risk_factors_fire_on_the_planted_conditions(output):
    factors = {r.subject: r for r in output.risk_factors}
    assert factors["regime:CRISIS"].severity == "HIGH"
    assert {"positioning:WTI", "positioning:BTC", "var:BTC", "drawdown", "correlation"} <= set(factors)
    assert [r.severity for r in output.risk_factors] == sorted(
        (r.severity for r in output.risk_factors), key=["HIGH", "MEDIUM", "LOW"].index
    )


def test_quiet_week_says_so(inputs):
    signals = inputs.signals.copy()
    feats = inputs.features.copy()
    feats["cot_spec_z52"] = 0.0
    signals["drawdown_state"] = "FULL_SIZE"
    signals["regime"] = "BULL"
    signals["var_99"] = 0.001
    quiet = inputs.model_copy(update={"signals": signals, "features": feats, "prices": inputs.prices.iloc[0:0]})
    out = build_wealth_manager(quiet, DAY)
    assert [(r.action, r.text) for r in out.risk_factors] == [("NONE", "No elevated risk flags this week.")]


def test_charts_reference_the_items_they_illustrate(output):
    ids = {i.recommendation_id for i in output.items()}
    assert [c.chart_id for c in output.charts] == ["allocation", "prices", "scores"]
    for chart in output.charts:
        assert chart.refs and set(chart.refs) <= ids
        assert all(len(values) == len(chart.labels) for values in chart.series.values())
    prices = next(c for c in output.charts if c.chart_id == "prices")
    assert set(prices.series) == set(WealthManagerConfig().chart_symbols)
    assert all(v[0] == pytest.approx(100.0) for v in prices.series.values())
