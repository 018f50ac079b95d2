"""Hedge fund: raw signals with probabilities, non-consensus flags, COT extremes and the conviction ranking."""

from __future__ import annotations

import numpy as np
import pytest

from assets.personas.config import HedgeFundConfig
from assets.personas.hedge_fund import build_hedge_fund, conviction_score
from assets.personas.inputs import PersonaInputs
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def output(inputs):
    return build_hedge_fund(inputs, DAY)


def test_raw_signals_are_every_row_of_the_day_with_their_probabilities(inputs, output):
    day_rows = inputs.signals_on(DAY)
    assert len(output.signals) == len(day_rows) == 12 * 6
    by_key = {(s.symbol, s.horizon): s for s in output.signals}
    for _, row in day_rows.iterrows():
        item = by_key[(row["symbol"], row["horizon"])]
        assert item.action == row["direction"]
        assert (item.prob_up, item.prob_flat, item.prob_down) == pytest.approx(
            (row["prob_up"], row["prob_flat"], row["prob_down"])
        )
        assert item.probability == pytest.approx(row["probability"])
        assert [r.key for r in item.signal_refs] == [f"{row['symbol']}|{DAY.isoformat()}|{row['horizon']}"]
        assert item.model_versions == [row["model_version"]]


def test_conviction_ranking(inputs, output):
    ranks = output.conviction
    assert [r.rank for r in ranks] == list(range(1, 13))
    scores = [r.conviction for r in ranks]
    assert scores == sorted(scores, reverse=True)
    ndx = next(r for r in ranks if r.subject == "NDX")  # FLAT: no conviction
    assert (ndx.conviction, ndx.action) == (0.0, "NONE")
    wti = next(r for r in ranks if r.subject == "WTI")  # 0.35 x 0.6 x (1 + 0.7) / 2
    assert wti.conviction == pytest.approx(0.35 * 0.6 * 0.85) and wti.action == "SHORT"
    assert ranks[0].subject == "WTI"
    primary = inputs.signals_on(DAY, HedgeFundConfig().horizon)
    for r in ranks:
        row = primary[primary["symbol"] == r.subject].iloc[0]
        assert r.conviction == pytest.approx(conviction_score(row), abs=1e-6)


def test_cot_extremes(output):
    extremes = {c.subject: c for c in output.cot_extremes}
    assert set(extremes) == {"WTI", "BTC"}
    assert extremes["WTI"].action == "CROWDED_LONG" and extremes["WTI"].contrarian_view == "DOWN"
    assert extremes["BTC"].action == "CROWDED_SHORT" and extremes["BTC"].contrarian_view == "UP"
    assert [c.subject for c in output.cot_extremes] == ["WTI", "BTC"]  # most extreme first


def test_non_consensus_flags_match_an_independent_reading(inputs, output):
    config = HedgeFundConfig()
    feats = inputs.features_asof(DAY).set_index("symbol")
    primary = inputs.signals_on(DAY, config.horizon).set_index("symbol")
    expected = {}
    for symbol, sig in primary.iterrows():
        model = {"UP": 1, "DOWN": -1, "FLAT": 0}[sig["direction"]] if sig["confidence"] >= config.min_confidence else 0
        ret, z = feats.loc[symbol, "ret_250d"], feats.loc[symbol, "cot_spec_z52"]
        trend = 0 if abs(ret) < config.min_abs_momentum else int(np.sign(ret))
        crowd = 0 if abs(z) < config.positioning_z else int(np.sign(z))
        against_trend = model and trend and model != trend
        against_crowd = model and crowd and model != crowd
        if against_trend and against_crowd:
            expected[symbol] = "AGAINST_BOTH"
        elif against_trend:
            expected[symbol] = "AGAINST_MOMENTUM"
        elif against_crowd:
            expected[symbol] = "AGAINST_POSITIONING"
    assert {n.subject: n.action for n in output.non_consensus} == expected
    assert expected  # the fixture has disagreements to flag
    assert "WTI" in expected  # model DOWN against speculators crowded long


def test_everything_is_from_the_day_only(inputs, output):
    for item in output.items():
        assert item.as_of == DAY
        assert all(ref.signal_date == DAY for ref in item.signal_refs)
