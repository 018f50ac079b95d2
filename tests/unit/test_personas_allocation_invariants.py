"""The wealth manager's allocation agrees with the drawdown guard, the regime and the signals, for any inputs.

Every invariant is derived here from the inputs (the day's signals and the config), not from fields the
allocation itself reports: no overweight in a class the guard or a risk-off regime de-risks, cash never
underweight while anything is de-risked and gaining at least one step per de-risked class, overweights only
where the signals lean up, targets that sum to the strategic total, and the same output for shuffled rows.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.personas.config import WealthManagerConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.wealth_manager import allocation_adjustments, build_wealth_manager
from tests.unit.test_personas_inputs import DAY, make_inputs

STATES = ("FULL_SIZE", "REDUCE_50", "REDUCE_75", "STOP_TRADING")
REGIMES = ("STRONG_BULL", "BULL", "WEAK_BULL", "SIDEWAYS", "WEAK_BEAR", "BEAR", "STRONG_BEAR", "CRISIS", "RECOVERY")
CONFIG = WealthManagerConfig()


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def day_signals(inputs) -> pd.DataFrame:
    return inputs.signals_on(DAY, CONFIG.horizon)


def _signal_rows(n: int) -> st.SearchStrategy:
    row = st.tuples(
        st.floats(-1, 1, allow_nan=False),  # ensemble_score
        st.floats(0, 1, allow_nan=False),  # confidence
        st.sampled_from(STATES),
    )
    return st.lists(row, min_size=n, max_size=n)


def _class_scores(signals: pd.DataFrame, inputs: PersonaInputs) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    classes = signals["symbol"].map(inputs.asset_class)
    for cls in CONFIG.strategic_weights:
        rows = signals[classes == cls]
        weight = rows["confidence"].sum()
        out[cls] = float((rows["confidence"] * rows["ensemble_score"]).sum() / weight) if weight > 0 else None
    return out


def check_invariants(allocations, signals: pd.DataFrame, regime: str, inputs: PersonaInputs, config) -> None:
    by_class = {a.asset_class: a for a in allocations}
    classes = signals["symbol"].map(inputs.asset_class)
    guarded = {str(c) for c, s in zip(classes, signals["drawdown_state"], strict=True) if s != "FULL_SIZE"}
    risk_off = set(config.risk_off_classes) if regime in config.risk_off_regimes else set()
    derisked = {c for c in (guarded | risk_off) if c in by_class and c != "cash"}
    scores = _class_scores(signals, inputs)

    assert sum(a.target_weight for a in allocations) == pytest.approx(1.0, abs=1e-9)
    for cls, a in by_class.items():
        strategic = config.strategic_weights[cls]
        assert a.target_weight >= -1e-12, cls
        assert a.target_weight == pytest.approx(strategic + a.adjustment, abs=1e-9)
        if cls == "cash":
            continue
        assert abs(a.adjustment) <= config.max_tilt + 1e-9, cls
        if cls in derisked:
            # the guard (or a risk-off regime) cuts it: never overweight, and it gives weight up
            assert a.action != "OVERWEIGHT", (cls, a.text)
            if strategic > 0:
                assert a.adjustment < 0, (cls, a.text)
        else:
            # otherwise the stance follows the signals
            score = scores[cls]
            if a.action == "OVERWEIGHT":
                assert score is not None and score > 0, (cls, score)
            if a.action == "UNDERWEIGHT":
                assert score is not None and score < 0, (cls, score)
    cash = by_class["cash"]
    if derisked:
        # cash absorbs the de-risking: never underweight, and at least one step per de-risked class
        steps = sum(1 for c in derisked if config.strategic_weights[c] > 0)
        assert cash.adjustment >= steps * config.step - 1e-9, (derisked, cash.adjustment)
        assert cash.action != "UNDERWEIGHT"
    for a in allocations:
        assert "_" not in a.text and "FULL" not in a.text, a.text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_signal_rows(12), regime=st.sampled_from(REGIMES), seed=st.integers(0, 2**16))
def test_allocations_agree_with_the_guard_the_regime_and_the_signals(inputs, day_signals, rows, regime, seed):
    signals = day_signals.copy()
    assert len(signals) == 12
    signals["ensemble_score"] = [r[0] for r in rows]
    signals["confidence"] = [r[1] for r in rows]
    signals["drawdown_state"] = [r[2] for r in rows]
    allocations = allocation_adjustments(DAY, signals, regime, inputs, CONFIG)
    check_invariants(allocations, signals, regime, inputs, CONFIG)
    # same day, same inputs in any row order: the same recommendations
    shuffled = signals.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    again = allocation_adjustments(DAY, shuffled, regime, inputs, CONFIG)
    assert [a.recommendation_id for a in again] == [a.recommendation_id for a in allocations]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=_signal_rows(12),
    regime=st.sampled_from(REGIMES),
    max_tilt=st.sampled_from([0.01, 0.03, 0.05, 0.1]),
    guard_tilt=st.sampled_from([0.0, 0.02, 0.05, 0.2]),
    tilt_scale=st.sampled_from([0.05, 0.1, 0.5]),
)
def test_invariants_hold_for_other_configs(inputs, day_signals, rows, regime, max_tilt, guard_tilt, tilt_scale):
    config = WealthManagerConfig(max_tilt=max_tilt, guard_tilt=guard_tilt, tilt_scale=tilt_scale)
    signals = day_signals.assign(
        ensemble_score=[r[0] for r in rows], confidence=[r[1] for r in rows], drawdown_state=[r[2] for r in rows]
    )
    check_invariants(allocation_adjustments(DAY, signals, regime, inputs, config), signals, regime, inputs, config)


def test_the_reported_contradiction_is_gone(inputs):
    """Bitcoin cut by the guard and 9 of 12 instruments de-risked: no crypto overweight, cash above strategic."""
    signals = inputs.signals.copy()
    today = signals["signal_date"] == pd.Timestamp(DAY)
    signals.loc[today, "ensemble_score"] = 0.8  # every signal leans up: the signals alone would overweight all
    signals.loc[today, "confidence"] = 0.6
    signals.loc[today, "drawdown_state"] = "FULL_SIZE"
    derisked = ["BTC", "ETH", "SPX", "NDX", "WTI", "BRENT", "NATGAS", "UST10Y", "EURUSD"]
    signals.loc[today & signals["symbol"].isin(derisked), "drawdown_state"] = "REDUCE_75"
    out = build_wealth_manager(inputs.model_copy(update={"signals": signals}), DAY)
    by_class = {a.asset_class: a for a in out.allocations}
    assert by_class["crypto"].action == "UNDERWEIGHT" and by_class["equity"].action == "UNDERWEIGHT"
    assert by_class["cash"].target_weight > CONFIG.strategic_weights["cash"]
    assert by_class["cash"].derisk_cut == pytest.approx(sum(a.derisk_cut for a in out.allocations[:-1]))
    day_signals = signals[today & (signals["horizon"] == CONFIG.horizon)]
    check_invariants(out.allocations, day_signals, out.regime.regime, inputs, CONFIG)
    assert "drawdown guard" in by_class["crypto"].text and "moves to cash" in by_class["crypto"].text
