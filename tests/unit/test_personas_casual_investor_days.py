"""Casual investor: the moods of all days are counted at once; each day's counts are those of its own rows."""

from __future__ import annotations

import pandas as pd

from assets.personas.casual_investor import _counts, _signal_days
from assets.personas.config import CasualInvestorConfig
from tests.unit.test_personas_inputs import make_inputs


def test_every_days_counts_are_the_counts_of_its_signal_rows():
    inputs = make_inputs()
    signals = inputs.signals.copy()
    signals.loc[signals.index[::7], "regime"] = "CRISIS"  # some stressed instruments
    config = CasualInvestorConfig()
    days = _signal_days(signals, config)
    at_horizon = signals[signals["horizon"] == config.horizon]
    assert sorted(days) == sorted(pd.Timestamp(d) for d in at_horizon["signal_date"].unique())
    for day, kept in days.items():
        rows = at_horizon[at_horizon["signal_date"] == day]
        assert kept.counts == _counts(rows, config)
        assert sorted(kept.rows["symbol"]) == sorted(rows["symbol"])
    assert any(kept.counts["stressed"] for kept in days.values())
