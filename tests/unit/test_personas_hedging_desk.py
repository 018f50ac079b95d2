"""Hedging desk: timing from the exposure's side, risk-off overrides, instruments, basis risk from the EIA curves,
cost savings with their assumptions, scenario P&L and the asset-class aggregation; the exposures file contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.personas.config import HedgingDeskConfig
from assets.personas.exposures import DEFAULT_EXPOSURES_FILE, Exposure, load_exposures
from assets.personas.hedging_desk import build_hedging_desk
from assets.personas.inputs import PersonaInputs
from resources.errors import ConfigError
from tests.unit.test_personas_inputs import DAY, _universe, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def output(inputs):
    return build_hedging_desk(inputs, DAY)


def _rec(output, exposure_id):
    return next(r for r in output.recommendations if r.exposure_id == exposure_id)


def _with_features(inputs: PersonaInputs, **values) -> PersonaInputs:
    feats = inputs.features.copy()
    on_day = feats["trade_date"] == pd.Timestamp(DAY)
    for column, value in values.items():
        feats.loc[on_day, column] = value
    return inputs.model_copy(update={"features": feats})


def test_sample_exposures_file_is_valid_and_every_exposure_gets_a_recommendation(output):
    exposures = load_exposures(DEFAULT_EXPOSURES_FILE, _universe()).exposures
    assert {e.exposure_id for e in exposures} == {r.exposure_id for r in output.recommendations}
    classes = {r.asset_class for r in output.recommendations}
    assert {"commodity", "fx", "equity", "crypto"} <= classes
    for rec in output.recommendations:
        assert rec.action in ("HEDGE_NOW", "WAIT_FOR_PULLBACK", "SCALE_IN")
        assert rec.urgency in ("HIGH", "MEDIUM", "LOW") and rec.instrument in ("futures", "options", "swap")
        assert 0 <= rec.basis_risk_score <= 1 and rec.reasons and rec.cost_saving.assumptions
        assert rec.rule_path and rec.signal_refs and rec.model_versions and rec.feature_snapshot_hashes


def test_timing_reads_the_probabilities_from_the_exposures_side(output):
    crude = _rec(output, "crude-inventory-cushing")  # long WTI, model DOWN 0.60 vs UP 0.15
    assert (crude.action, crude.urgency) == ("HEDGE_NOW", "HIGH")
    assert crude.probability_adverse == 0.6 and crude.probability_favorable == 0.15
    refinery = _rec(output, "refinery-crude-purchases-q3")  # short BRENT, model DOWN: a fall helps the buyer
    assert refinery.action == "WAIT_FOR_PULLBACK" and refinery.urgency == "LOW" and refinery.hedge_ratio == 0
    gas = _rec(output, "gas-fuel-procurement")  # short NATGAS, model UP 0.50 vs 0.20: adverse
    assert gas.action == "HEDGE_NOW" and gas.urgency == "HIGH"
    eur = _rec(output, "eur-receivables")  # confidence 0.02: no timing view
    assert eur.action == "SCALE_IN" and any(
        s.rule == "hedging_desk.min_confidence" and "fail" in s.outcome for s in eur.rule_path
    )
    assert _rec(output, "pension-equity-sleeve").action == "WAIT_FOR_PULLBACK"  # long SPX, model UP


def test_risk_off_regime_forces_an_immediate_hedge_even_with_a_favourable_view(output):
    btc = _rec(output, "treasury-btc-holding")  # long BTC, model UP, but regime CRISIS
    assert (btc.action, btc.urgency, btc.hedge_ratio) == ("HEDGE_NOW", "HIGH", 0.8)
    fired = [s for s in btc.rule_path if s.rule == "hedging_desk.risk_off"]
    assert fired and "HEDGE_NOW" in fired[0].outcome and "CRISIS" in fired[0].observed


def test_high_volatility_means_scale_in_rather_than_wait(inputs):
    stressed = build_hedging_desk(_with_features(inputs, vix_pct_1y=0.95), DAY)
    pension = _rec(stressed, "pension-equity-sleeve")
    assert (pension.action, pension.urgency) == ("SCALE_IN", "MEDIUM")
    assert pension.hedge_ratio == HedgingDeskConfig().hedge_ratios["SCALE_IN"]


def test_basis_risk_comes_from_the_energy_curves_and_penalises_a_cross_hedge(inputs, output):
    crude, brent = _rec(output, "crude-inventory-cushing"), _rec(output, "refinery-crude-purchases-q3")
    assert output.energy_as_of is not None and output.energy_as_of < DAY  # EIA lag: the latest curve known
    assert crude.basis is not None and crude.roll_yield is not None
    assert any(s.rule == "hedging_desk.basis_risk" for s in crude.rule_path)
    assert brent.basis_risk_score == pytest.approx(crude.basis_risk_score + 0.3, abs=1e-6)
    assert _rec(output, "eur-receivables").basis_risk_score == 0.05  # default score for FX
    # a stale curve (older than three weeks) is not used: defaults instead
    stale = inputs.model_copy(
        update={"energy": inputs.energy[inputs.energy["trade_date"] < pd.Timestamp("2024-05-01")]}
    )
    old = build_hedging_desk(stale, DAY)
    assert old.energy_as_of is None and _rec(old, "crude-inventory-cushing").basis is None


def test_swap_for_a_large_exposure_with_basis_risk(output):
    refinery = _rec(output, "refinery-crude-purchases-q3")  # $25m, cross hedge on the WTI curve
    assert refinery.instrument == "swap"
    assert _rec(output, "crude-inventory-cushing").instrument == "futures"  # low basis risk


def test_cost_saving_adds_up_and_states_its_assumptions(output):
    for rec in output.recommendations:
        cs = rec.cost_saving
        assert cs.usd == pytest.approx(cs.timing_usd + cs.carry_usd + cs.cost_usd, abs=0.02)
        assert cs.bps == pytest.approx(1e4 * cs.usd / rec.notional_usd, abs=0.01)
        assert cs.cost_usd <= 0
        text = " ".join(cs.assumptions)
        assert "baseline" in text and "not a promise" in text and "horizon 10 trading days" in text
    crude = _rec(output, "crude-inventory-cushing")
    assert crude.cost_saving.timing_usd > 0  # hedging now avoids the expected adverse move
    assert crude.cost_saving.carry_usd != 0  # a futures hedge on the WTI curve carries roll


def test_scenario_pnl_and_asset_class_aggregation(output):
    crude = _rec(output, "crude-inventory-cushing")  # long $40m, hedged 80% now
    by_name = {s.scenario: s for s in crude.scenarios}
    assert set(by_name) == {"-10%", "-5%", "+5%", "+10%", "crisis"}
    assert by_name["-10%"].pnl_unhedged == pytest.approx(-4_000_000)
    assert by_name["-10%"].pnl_hedged == pytest.approx(-800_000)
    assert by_name["crisis"].move == -0.35
    jpy = _rec(output, "jpy-supplier-payables")
    assert {s.scenario: s for s in jpy.scenarios}["crisis"].move == -0.10  # the yen rallies in a crisis
    commodity = next(a for a in output.asset_classes if a.asset_class == "commodity")
    members = [r for r in output.recommendations if r.asset_class == "commodity"]
    assert commodity.n_exposures == len(members) == 3
    assert commodity.gross_notional_usd == sum(r.notional_usd for r in members)
    assert commodity.net_notional_usd == 40e6 - 25e6 - 8e6
    for i, scenario in enumerate(commodity.scenarios):
        assert scenario.pnl_unhedged == pytest.approx(sum(r.scenarios[i].pnl_unhedged for r in members), abs=0.05)
    assert sum(a.gross_notional_usd for a in output.asset_classes) == sum(
        r.notional_usd for r in output.recommendations
    )


def test_inline_exposures_override_the_file(inputs):
    config = HedgingDeskConfig(exposures=(Exposure(exposure_id="x", instrument="NDX", notional_usd=1e6, side="short"),))
    out = build_hedging_desk(inputs, DAY, config)
    assert [r.exposure_id for r in out.recommendations] == ["x"]
    assert out.recommendations[0].action == "SCALE_IN"  # NDX is FLAT: no edge


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("exposures:\n  - {exposure_id: a, instrument: GOLDX, notional_usd: 1, side: long}\n", "not in the universe"),
        (
            "exposures:\n  - {exposure_id: a, instrument: WTI, notional_usd: -5, side: long}\n",
            "exposures.0.notional_usd",
        ),
        ("exposures:\n  - {exposure_id: a, instrument: WTI, notional_usd: 5, side: flat}\n", "exposures.0.side"),
        (
            "exposures:\n  - {exposure_id: a, instrument: WTI, notional_usd: 5, side: long}\n"
            "  - {exposure_id: a, instrument: SPX, notional_usd: 5, side: short}\n",
            "duplicate exposure ids",
        ),
        ("exposures:\n  - {exposure_id: 'Bad Id', instrument: WTI, notional_usd: 5, side: long}\n", "lowercase slug"),
        ("exposures: [\n", "not valid YAML"),
    ],
)
def test_invalid_exposures_files_are_refused_with_a_clear_error(tmp_path: Path, body, message):
    path = tmp_path / "exposures.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_exposures(path, _universe())


def test_missing_exposures_file(tmp_path: Path, inputs):
    with pytest.raises(ConfigError, match="not found"):
        build_hedging_desk(inputs, DAY, HedgingDeskConfig(exposures_file=tmp_path / "nope.yaml"))
