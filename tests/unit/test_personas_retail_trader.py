"""Retail trader: traffic lights, guardrails, mandatory stops, calibrated probabilities and the signal's own
out-of-sample record; never a promise; a FLAT or weak signal is yellow and no trade."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assets.personas.config import RetailTraderConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.models import promises_in
from assets.personas.retail_trader import DISCLAIMER, build_retail_trader
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def output(inputs):
    return build_retail_trader(inputs, DAY)


def _call(output, symbol):
    return next(c for c in output.calls if c.subject == symbol)


def test_one_call_per_instrument(inputs, output):
    assert [c.subject for c in output.calls] == sorted(i.symbol for i in inputs.universe.instruments)


def test_green_buy_has_stop_target_size_probability_and_track_record(output):
    spx = _call(output, "SPX")
    assert (spx.light, spx.action) == ("GREEN", "BUY")
    assert spx.stop < spx.close < spx.target
    assert 0 < spx.guardrails.suggested_position_pct <= 0.05 and spx.guardrails.stop_required
    assert spx.probability == 0.60 and "60%" in spx.probability_text and "estimate" in spx.probability_text
    assert (
        spx.track_record.n == 900
        and "900" in spx.track_record.text
        and "out of sample" in spx.track_record.text.lower()
    )
    assert "stop at" in spx.text and "5.0% of your account" in spx.text


@pytest.mark.parametrize(
    ("symbol", "light", "rule"),
    [
        ("NDX", "YELLOW", "retail_trader.direction"),  # FLAT
        ("EURUSD", "YELLOW", "retail_trader.min_confidence"),  # confidence 0.02
        ("UST10Y", "YELLOW", "retail_trader.min_confidence"),  # probability 0.42 < 0.45
        ("USDJPY", "YELLOW", "retail_trader.min_track_n"),  # only 40 out-of-sample calls
        ("BTC", "YELLOW", "retail_trader.blocked_regimes"),  # CRISIS regime
        ("ETH", "RED", "retail_trader.allow_short"),  # DOWN, and beginners are not offered short sales
    ],
)
def test_no_trade_cases(output, symbol, light, rule):
    call = _call(output, symbol)
    assert (call.light, call.action) == (light, "NO_TRADE")
    assert call.stop is None and call.target is None and call.guardrails.suggested_position_pct == 0
    assert call.rule_path[-1].rule == rule and "fail" in call.rule_path[-1].outcome


def test_experienced_traders_may_sell_short_with_a_stop_above(inputs):
    out = build_retail_trader(inputs, DAY, RetailTraderConfig(audience="experienced"))
    eth = _call(out, "ETH")
    assert (eth.light, eth.action) == ("RED", "SELL")
    assert eth.target < eth.close < eth.stop
    assert 0 < eth.guardrails.suggested_position_pct <= 0.10


def test_guardrails_hold_on_every_day_of_random_signals():
    """Across many days of unplanted signals: trades always have a stop and a capped size; weak is yellow."""
    config = RetailTraderConfig()
    inputs = make_inputs(planted=False)
    days = sorted(inputs.signals["signal_date"].unique())[-25:]
    lights = set()
    for d in days:
        day = d.date()
        for call in build_retail_trader(inputs, day, config).calls:
            lights.add(call.light)
            sig = inputs.signals_on(day, config.horizon)
            row = sig[sig["symbol"] == call.subject].iloc[0]
            if row["direction"] == "FLAT" or row["confidence"] < config.min_confidence:
                assert call.light == "YELLOW" and call.action == "NO_TRADE"
            if call.action != "NO_TRADE":
                assert call.stop is not None and call.target is not None
                assert 0 < call.guardrails.suggested_position_pct <= 0.05
                assert (call.stop < call.close) == (call.action == "BUY")
            assert not promises_in(call.text + call.probability_text)
    assert {"GREEN", "YELLOW", "RED"} <= lights


def test_texts_never_promise(output):
    assert not promises_in(DISCLAIMER)
    for call in output.calls:
        for text in (call.text, call.probability_text, call.track_record.text if call.track_record else ""):
            assert not promises_in(text), text
            assert "win rate" not in text.lower()


def test_a_promise_or_a_trade_without_stop_cannot_be_published(output):
    spx = _call(output, "SPX")
    data = spx.model_dump()
    with pytest.raises(ValidationError, match="promises"):
        type(spx).model_validate({**data, "text": "SPX is guaranteed to rally"})
    with pytest.raises(ValidationError, match="stop"):
        type(spx).model_validate({**data, "stop": None})
    with pytest.raises(ValidationError, match="guardrail"):
        type(spx).model_validate({**data, "guardrails": {**data["guardrails"], "suggested_position_pct": 0.2}})


def test_beginners_cap_cannot_be_raised_above_five_percent():
    with pytest.raises(ValidationError, match="5%"):
        RetailTraderConfig(max_position_pct={"beginner": 0.08, "experienced": 0.1})
