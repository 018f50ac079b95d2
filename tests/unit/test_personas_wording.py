"""Plain wording in every persona text: no internal codes, and a direction only where it is the more likely side.

Checked over all six outputs of the planted day and of days with random signals, on every field a person reads
(item texts, the retail trader's probability and track-record texts and guardrail notes).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from assets.personas.common import codes_in, lean, odds, regime_sentence
from assets.personas.daily import build_all
from assets.personas.inputs import PersonaInputs
from tests.unit.test_personas_inputs import DAY, make_inputs

STATES = np.array(["FULL_SIZE", "REDUCE_50", "REDUCE_75", "STOP_TRADING"])
REGIMES = np.array(["STRONG_BULL", "BULL", "WEAK_BEAR", "STRONG_BEAR", "CRISIS", "RECOVERY", "SIDEWAYS"])
# "sees a rise as more likely than not (56% rise, 44% flat or fall)"
_CLAIM = re.compile(r"sees an? (rise|fall) as more likely than not[^(]*\((\d+)% (rise|fall), (\d+)% ")


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


def _texts(output) -> list[str]:
    texts = []
    for item in output.items():
        texts.append(item.text)
        for name in ("probability_text",):
            if getattr(item, name, None):
                texts.append(getattr(item, name))
        track = getattr(item, "track_record", None)
        if track is not None and getattr(track, "text", None):
            texts.append(track.text)
        guardrails = getattr(item, "guardrails", None)
        if guardrails is not None:
            texts.extend(guardrails.notes)
    return texts


def _random_day(inputs: PersonaInputs, seed: int) -> PersonaInputs:
    rng = np.random.default_rng(seed)
    signals = inputs.signals.copy()
    n = len(signals)
    raw = rng.dirichlet([1.0, 1.0, 1.0], size=n).round(4)
    raw[:, 1] = 1.0 - raw[:, 0] - raw[:, 2]
    signals["prob_up"], signals["prob_flat"], signals["prob_down"] = raw[:, 0], raw[:, 1], raw[:, 2]
    signals["direction"] = np.array(["UP", "FLAT", "DOWN"])[raw.argmax(axis=1)]
    signals["probability"] = raw.max(axis=1)
    signals["drawdown_state"] = rng.choice(STATES, size=n)
    signals["regime"] = rng.choice(REGIMES, size=n)
    signals["regime_probability"] = rng.uniform(0.3, 1.0, size=n).round(4)
    signals["ensemble_score"] = rng.uniform(-1, 1, size=n).round(4)
    return inputs.model_copy(update={"signals": signals})


def _check(outputs) -> int:
    checked = 0
    for persona, output in outputs.items():
        for text in _texts(output):
            assert codes_in(text) == [], (persona, text)
            assert "leans higher" not in text and "leans lower" not in text, (persona, text)
            assert "with a probability of" not in text, (persona, text)
            # the stated probabilities are the signal's (moved to the instrument's base rate), not the model's own
            for phrase in ("model's odds", "the model sees", "the model expects", "the model leans"):
                assert phrase not in text, (persona, text)
            for side, share, named, rest in _CLAIM.findall(text):
                assert side == named and int(share) > 50 and int(share) + int(rest) == 100, (persona, text)
                checked += 1
    return checked


def test_planted_day_texts_are_plain(inputs):
    assert _check(build_all(inputs, DAY)) > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_random_days_texts_are_plain(inputs, seed):
    _check(build_all(_random_day(inputs, seed), DAY))


def test_the_retail_probability_text_says_which_probability_it_states(inputs):
    texts = [
        item.probability_text
        for item in build_all(inputs, DAY)["retail_trader"].items()
        if getattr(item, "probability_text", None) and "%" in item.probability_text
    ]
    assert texts
    for text in texts:
        assert text.startswith("The signal's probabilities over the next"), text
        assert "adjusted to this market's own history of rises and falls" in text, text


def test_wording_helpers():
    assert odds("UP", 0.44, 0.30, 0.26) == "44% rise, 56% flat or fall"
    assert odds("DOWN", 0.2, 0.2, 0.6) == "60% fall, 40% flat or rise"
    assert odds("FLAT", 0.2, 0.61, 0.19) == "61% little change, 39% a rise or a fall"
    assert lean("UP", 0.44) == "sees no side as more likely than not"  # never "leans higher" at 44%
    assert lean("UP", 0.56) == "sees a rise as more likely than not"
    assert lean("DOWN", 0.504) == "sees no side as more likely than not"  # reads as 50%: not the more likely side
    sentence = regime_sentence("the S&P 500 index", "STRONG_BULL", 0.999)
    assert "highly confident" in sentence and "strong bull regime (above 0.99" in sentence
    assert "not a forecast" in sentence and "100%" not in sentence and codes_in(sentence) == []
    assert codes_in("cut (reduce_75), STOP_TRADING, a BULL regime, FULL_SIZE, SPX and WTI") == [
        "BULL",
        "FULL_SIZE",
        "STOP_TRADING",
        "reduce_75",
    ]
