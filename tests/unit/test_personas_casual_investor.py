"""Casual investor: one plain, honest sentence a day and a monthly digest on the month's last weekday."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pydantic import ValidationError

from assets.personas.casual_investor import build_casual_investor, is_month_end
from assets.personas.inputs import PersonaInputs
from assets.personas.models import promises_in
from tests.unit.test_personas_inputs import DAY, MID_MONTH, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


def _with_signals(inputs: PersonaInputs, **values) -> PersonaInputs:
    signals = inputs.signals.copy()
    on_day = signals["signal_date"] == pd.Timestamp(DAY)
    for column, value in values.items():
        signals.loc[on_day, column] = value
    return inputs.model_copy(update={"signals": signals})


def test_daily_sentence_is_one_honest_sentence(inputs):
    out = build_casual_investor(inputs, MID_MONTH)
    daily = out.daily
    assert out.digest is None
    assert daily.text.count(". ") == 0 and daily.text.endswith(".")
    assert not promises_in(daily.text)
    assert daily.signal_refs and all(r.signal_date == MID_MONTH for r in daily.signal_refs)


@pytest.mark.parametrize(
    ("values", "mood", "action"),
    [
        ({"direction": "UP", "confidence": 0.3}, "POSITIVE", "STAY_THE_COURSE"),
        ({"direction": "DOWN", "confidence": 0.3}, "NEGATIVE", "BE_PATIENT"),
        ({"confidence": 0.01}, "QUIET", "STAY_THE_COURSE"),
        ({"regime": "CRISIS"}, "STRESSED", "REVIEW_RISK"),
    ],
)
def test_mood_rules(inputs, values, mood, action):
    daily = build_casual_investor(_with_signals(inputs, **values), DAY, digest=False).daily
    assert (daily.mood, daily.action) == (mood, action)
    assert not promises_in(daily.text)


def test_monthly_digest_on_the_last_weekday(inputs):
    out = build_casual_investor(inputs, DAY)
    digest = out.digest
    assert digest is not None and digest.month == "2024-06"
    june_days = inputs.signals[
        (inputs.signals["signal_date"] >= pd.Timestamp(2024, 6, 1))
        & (inputs.signals["signal_date"] <= pd.Timestamp(DAY))
    ]["signal_date"].nunique()
    assert digest.days == june_days
    assert "June 2024" in digest.text and f"Over {june_days} market days" in digest.text
    assert "S&P 500 index" in digest.text and not promises_in(digest.text)
    assert digest.data_refs and {r.signal_date.month for r in digest.signal_refs} == {6}


def test_month_end_is_the_last_weekday():
    assert is_month_end(date(2024, 6, 28)) and not is_month_end(date(2024, 6, 27))
    assert is_month_end(date(2024, 8, 30))  # the 31st is a Saturday
    assert is_month_end(date(2024, 7, 31))


def test_a_promising_sentence_is_refused(inputs):
    daily = build_casual_investor(inputs, MID_MONTH).daily
    with pytest.raises(ValidationError):
        type(daily).model_validate({**daily.model_dump(), "text": "Stocks will rise this week, a sure thing."})
    with pytest.raises(ValidationError, match="one plain sentence"):
        type(daily).model_validate({**daily.model_dump(), "text": "Calm day. Nothing to do."})


def test_the_digest_counts_each_days_mood_as_that_days_sentence_has_it(inputs):
    """The month-end digest reads every signal day of the month again (kept per day): its mood tally must be the
    daily sentences' own moods, on signals where some instruments are stressed."""
    from collections import Counter

    signals = inputs.signals.copy()
    signals.loc[signals.index[::5], "regime"] = "CRISIS"
    stressed = inputs.model_copy(update={"signals": signals})
    month = sorted({d.date() for d in signals["signal_date"] if d.month == DAY.month and d.date() <= DAY})
    moods = Counter(build_casual_investor(stressed, day).daily.mood for day in month)
    assert len(moods) > 1  # the check sees more than one mood
    digest = build_casual_investor(stressed, DAY).digest
    tally = ", ".join(f"{m.lower()} on {c}" for m, c in sorted(moods.items(), key=lambda x: (-x[1], x[0])))
    assert digest is not None and f"Over {len(month)} market days the daily mood was {tally}." in digest.text
