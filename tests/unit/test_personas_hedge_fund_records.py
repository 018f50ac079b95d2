"""Hedge fund: the signal records it keeps (PersonaInputs.signal_records) follow the inputs they came from."""

from __future__ import annotations

import pytest

from assets.personas.hedge_fund import build_hedge_fund
from assets.personas.inputs import PersonaInputs
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


def test_a_copy_with_other_signals_gets_its_own_records(inputs):
    build_hedge_fund(inputs, DAY)  # fills the shared memo with the full frame's records
    fewer = inputs.model_copy(update={"signals": inputs.signals[inputs.signals["symbol"] != "WTI"]})
    output = build_hedge_fund(fewer, DAY)
    assert output.signals and all(s.symbol != "WTI" for s in output.signals)
    assert all(c.subject != "WTI" for c in output.conviction)
    assert "WTI" in {s.symbol for s in build_hedge_fund(inputs, DAY).signals}
