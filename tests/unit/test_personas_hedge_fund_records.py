"""Hedge fund: the per-day signal records (built once for all days) are the rows `signals_on` selects."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from assets.personas.hedge_fund import _signals_on, build_hedge_fund
from assets.personas.inputs import PersonaInputs
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


def test_records_are_the_days_rows_in_order(inputs):
    days = sorted({d.date() for d in inputs.signals["signal_date"]})
    for day in [*days[-5:], date(2024, 6, 29)]:  # the last days, and a Saturday without signals
        rows = inputs.signals_on(day)
        records = _signals_on(inputs, day)
        assert [(r["symbol"], r["horizon"]) for r in records] == list(zip(rows["symbol"], rows["horizon"], strict=True))
        for record, (_, row) in zip(records, rows.iterrows(), strict=True):
            assert record["signal_date"] == row["signal_date"] == pd.Timestamp(day)
            for column, value in record.items():
                assert value == row[column] or (pd.isna(value) and pd.isna(row[column])), column


def test_a_copy_with_other_signals_gets_its_own_records(inputs):
    build_hedge_fund(inputs, DAY)  # fills the shared memo with the full frame's records
    fewer = inputs.model_copy(update={"signals": inputs.signals[inputs.signals["symbol"] != "WTI"]})
    output = build_hedge_fund(fewer, DAY)
    assert output.signals and all(s.symbol != "WTI" for s in output.signals)
    assert all(c.subject != "WTI" for c in output.conviction)
    assert "WTI" in {s.symbol for s in build_hedge_fund(inputs, DAY).signals}
