"""Hedging desk: for each exposure, when to hedge, with what, at what basis risk, and what it is expected to save.

Timing reads the calibrated probabilities at the desk's horizon from the exposure's side: for a long exposure a
fall is adverse. Risk-off states (a CRISIS regime, the drawdown guard at STOP_TRADING) override the view: the desk
hedges now when the model says its own estimates are least reliable. Basis and roll come from the EIA spot and
futures curves for energy; other classes use documented default basis scores. Scenario P&L applies the configured
moves before and after the hedge ratio of the recommendation; exposures are aggregated by asset class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.personas.common import (
    RulePath,
    feature_refs_by_symbol,
    fmt,
    guard_reason,
    make_item,
    num,
    pct,
    r6,
    refs_of,
    regime_words,
    signed_pct,
    usd,
)
from assets.personas.config import HedgingDeskConfig
from assets.personas.exposures import Exposure, ExposuresFile, load_exposures
from assets.personas.inputs import PersonaInputs
from assets.personas.models import (
    AssetClassExposure,
    CostSaving,
    HedgeRecommendation,
    HedgingDeskOutput,
    ScenarioPnl,
)
from assets.personas.tables import output_rows

PERSONA = "hedging_desk"
CURVE_SPOT_SYMBOL = {"wti": "WTI", "ng": "NATGAS"}


def resolve_exposures(config: HedgingDeskConfig, inputs: PersonaInputs) -> list[Exposure]:
    """Inline exposures win over the file; both are checked against the universe."""
    if config.exposures is not None:
        parsed = ExposuresFile(exposures=list(config.exposures)).check_instruments(inputs.universe)
        return list(parsed.exposures)
    # the file is read and checked once per inputs (every day of a window asks)
    path = config.exposures_file
    parsed = inputs.memo(("exposures", str(path)), (inputs.universe,), lambda: load_exposures(path, inputs.universe))
    return list(parsed.exposures)


def _scenario_names(config: HedgingDeskConfig) -> list[str]:
    return [f"{100 * m:+.0f}%" for m in config.scenario_moves] + ["crisis"]


def _crisis_move(symbol: str, asset_class: str, config: HedgingDeskConfig) -> float:
    if symbol in config.crisis_moves_by_symbol:
        return config.crisis_moves_by_symbol[symbol]
    return config.crisis_moves.get(asset_class, config.default_crisis_move)


@dataclass(frozen=True)
class _Curve:
    """One curve's columns over the day's basis window (the last `basis_window` energy rows known at the day)."""

    basis: float | None  # last non-null value in the window
    roll: float | None
    wti_c1: float | None  # spot fallback for the WTI curve
    basis_sd: float | None  # population sd of the non-null basis values; None with fewer than two
    rows: int


@dataclass(frozen=True)
class _Energy:
    """The energy frame sorted by date once (stable, as `energy_until` sorts it), as arrays for every day."""

    dates: np.ndarray  # datetime64[ns], no NaT
    columns: dict[str, np.ndarray]  # float64 with NaN for missing


def _energy_arrays(energy: pd.DataFrame) -> _Energy:
    ordered = energy[energy["trade_date"].notna()].sort_values("trade_date", kind="stable")
    names = [f"{c}_{k}" for c in CURVE_SPOT_SYMBOL for k in ("basis", "roll_yield")]
    names += ["wti_c1"] * ("wti_c1" in ordered.columns)
    return _Energy(
        dates=ordered["trade_date"].to_numpy().astype("datetime64[ns]"),
        columns={c: ordered[c].to_numpy(dtype="float64", na_value=np.nan) for c in names},
    )


def _ns(ts: pd.Timestamp) -> np.datetime64:
    return ts.to_datetime64().astype("datetime64[ns]")


def _last(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return num(known[-1]) if known.size else None


def _population_sd(values: np.ndarray) -> float | None:
    """`Series.dropna().std(ddof=0)` as pandas computes it (two passes, same sums), without the Series."""
    known = values[~np.isnan(values)]
    if known.size <= 1:
        return None
    count = np.float64(known.size)
    mean = known.sum(dtype=np.float64) / count
    return float(np.sqrt(((mean - known) ** 2).sum(dtype=np.float64) / count))


def _day_energy(inputs: PersonaInputs, day: date, config: HedgingDeskConfig) -> tuple[date | None, dict[str, _Curve]]:
    """(energy_as_of, curve -> its window) for `day`: empty when no curve row is recent enough.

    The rows of `energy_until(day)` dated within a year and `max_energy_age_days` of the day are a slice of the
    energy frame sorted once; the curves the exposures share are read once per day, not once per exposure.
    """
    energy = inputs.memo(("hedging_desk.energy",), (inputs.energy,), lambda: _energy_arrays(inputs.energy))
    ts = pd.Timestamp(day)
    first = int(np.searchsorted(energy.dates, _ns(ts - pd.Timedelta(days=config.max_energy_age_days + 365))))
    end = int(np.searchsorted(energy.dates, _ns(ts), side="right"))
    if end <= first:
        return None, {}
    last = pd.Timestamp(energy.dates[end - 1])
    if last < ts - pd.Timedelta(days=config.max_energy_age_days):
        return None, {}
    start = max(first, end - config.basis_window)
    c1 = energy.columns.get("wti_c1")
    curves = {}
    for curve in {c.curve for c in config.energy_curves.values()}:
        basis = energy.columns[f"{curve}_basis"][start:end]
        curves[curve] = _Curve(
            basis=_last(basis),
            roll=_last(energy.columns[f"{curve}_roll_yield"][start:end]),
            wti_c1=_last(c1[start:end]) if c1 is not None and curve == "wti" else None,
            basis_sd=_population_sd(basis),
            rows=end - start,
        )
    return last.date(), curves


def _basis_risk(
    symbol: str,
    asset_class: str,
    curves: dict[str, _Curve],
    closes: Mapping[str, float],
    config: HedgingDeskConfig,
    rules: RulePath,
) -> tuple[float, float | None, float | None, list[str]]:
    """(score, basis, roll yield, notes). Energy: level and volatility of spot - front future, share of spot."""
    curve = config.energy_curves.get(symbol)
    penalty = config.cross_hedge_penalty if curve is not None and curve.cross_hedge else 0.0
    if curve is None or not curves:
        score = min(1.0, config.default_basis_risk.get(asset_class, 0.3) + penalty)
        why = "no spot/futures curve ingested for this class" if curve is None else "no energy curve row yet"
        rules.add("hedging_desk.default_basis_risk", f"default for {asset_class}", score, f"score {score:.2f} ({why})")
        return score, None, None, [f"basis risk: default score for {asset_class} ({why})"]
    window = curves[curve.curve]
    basis, roll = window.basis, window.roll
    spot = closes.get(CURVE_SPOT_SYMBOL[curve.curve])
    if spot is None and curve.curve == "wti":
        spot = window.wti_c1
    if basis is None or spot is None or spot <= 0:
        score = min(1.0, config.default_basis_risk.get(asset_class, 0.3) + penalty)
        rules.add("hedging_desk.default_basis_risk", "basis and spot known", "missing", f"default score {score:.2f}")
        return score, basis, roll, [f"basis risk: default score for {asset_class} (basis or spot missing)"]
    level = abs(basis) / spot
    vol = window.basis_sd / spot if window.basis_sd is not None else 0.0
    raw = config.basis_level_weight * level / config.basis_scale + config.basis_vol_weight * vol / config.basis_scale
    score = max(0.0, min(1.0, raw + penalty))
    rules.add(
        "hedging_desk.basis_risk",
        f"({config.basis_level_weight} x |basis|/spot + {config.basis_vol_weight} x sd(basis)/spot) / "
        f"{config.basis_scale} + cross-hedge {penalty}",
        {"basis": basis, "spot": spot, "sd_basis": vol * spot, "rows": window.rows},
        f"score {score:.2f}",
    )
    notes = [
        f"basis ({curve.curve.upper()} spot - front future) {basis:+.2f}, {pct(level, 1)} of spot; "
        f"its volatility over {window.rows} curve days {pct(vol, 1)} of spot"
    ]
    if curve.cross_hedge:
        notes.append(f"cross hedge: {symbol} hedged on the {curve.curve.upper()} curve (grade/location basis)")
    return score, basis, roll, notes


def _timing(
    exposure: Exposure,
    sig: Mapping[str, Any] | None,
    vix_pct: float | None,
    config: HedgingDeskConfig,
    rules: RulePath,
) -> tuple[str, str, float | None, float | None, float | None, list[str]]:
    """(action, urgency, p_adverse, p_favorable, favourable expected move, reasons)."""
    reasons: list[str] = []
    if sig is None:
        rules.add(
            "hedging_desk.signal_present",
            f"signal for {exposure.instrument} at D+{config.horizon}",
            "none",
            "fail -> SCALE_IN (no view: hedge in tranches)",
        )
        return "SCALE_IN", "MEDIUM", None, None, None, ["no signal today: hedge in tranches per policy"]
    p_up, p_down = float(sig["prob_up"]), float(sig["prob_down"])
    p_adv, p_fav = (p_down, p_up) if exposure.side == "long" else (p_up, p_down)
    fav_move = exposure.sign * float(sig["expected_move"])
    regime, dd_state = str(sig["regime"]), str(sig["drawdown_state"])
    risk_off = regime in config.risk_off_regimes or dd_state in config.risk_off_drawdown_states
    rules.add(
        "hedging_desk.risk_off",
        f"regime in {list(config.risk_off_regimes)} or drawdown state in {list(config.risk_off_drawdown_states)}",
        {"regime": regime, "drawdown_state": dd_state},
        "fire -> HEDGE_NOW, HIGH" if risk_off else "pass",
    )
    if risk_off:
        why = [f"the model places this market in a {regime_words(regime)} regime"] * (regime in config.risk_off_regimes)
        if dd_state in config.risk_off_drawdown_states:
            why.append(f"the drawdown guard is in force on {guard_reason('this market', dd_state, regime)}")
        reasons.append(f"risk-off: {' and '.join(why)}; estimates are least reliable now")
        return "HEDGE_NOW", "HIGH", p_adv, p_fav, fav_move, reasons
    confidence = float(sig["confidence"])
    confident = confidence >= config.min_confidence
    rules.add(
        "hedging_desk.min_confidence",
        f"confidence >= {config.min_confidence}",
        confidence,
        "pass" if confident else "fail -> SCALE_IN (no timing view)",
    )
    if not confident:
        reasons.append(f"model confidence {confidence:.2f} below {config.min_confidence}: no timing view")
        return "SCALE_IN", "LOW", p_adv, p_fav, fav_move, reasons
    edge = p_fav - p_adv
    reasons.append(
        f"D+{config.horizon}: P(favourable) {pct(p_fav)} vs P(adverse) {pct(p_adv)}, "
        f"expected move for the exposure {signed_pct(math.expm1(fav_move))}"
    )
    if edge <= -config.edge_threshold:
        urgency = "HIGH" if edge <= -config.high_urgency_edge else "MEDIUM"
        rules.add(
            "hedging_desk.edge_threshold",
            f"p_fav - p_adv <= -{config.edge_threshold}",
            edge,
            f"fire -> HEDGE_NOW ({urgency}: high at <= -{config.high_urgency_edge})",
        )
        return "HEDGE_NOW", urgency, p_adv, p_fav, fav_move, reasons
    if edge >= config.edge_threshold:
        rules.add("hedging_desk.edge_threshold", f"p_fav - p_adv >= {config.edge_threshold}", edge, "fire")
        volatile = vix_pct is not None and vix_pct >= config.high_vol_pct
        rules.add(
            "hedging_desk.high_vol_pct",
            f"vix_pct_1y >= {config.high_vol_pct}",
            vix_pct,
            "fire -> SCALE_IN (too volatile to wait)" if volatile else "pass -> WAIT_FOR_PULLBACK",
        )
        if volatile:
            reasons.append(f"volatility in the top {pct(1 - config.high_vol_pct)} of the year: do not wait unhedged")
            return "SCALE_IN", "MEDIUM", p_adv, p_fav, fav_move, reasons
        return "WAIT_FOR_PULLBACK", "LOW", p_adv, p_fav, fav_move, reasons
    rules.add("hedging_desk.edge_threshold", f"|p_fav - p_adv| < {config.edge_threshold}", edge, "no edge -> SCALE_IN")
    reasons.append("no clear timing edge: hedge in tranches")
    return "SCALE_IN", "LOW", p_adv, p_fav, fav_move, reasons


def _instrument(
    action: str,
    exposure: Exposure,
    asset_class: str,
    basis_score: float,
    timing_benefit: float,
    premium: float,
    config: HedgingDeskConfig,
    rules: RulePath,
) -> str:
    allowed = config.allowed_instruments.get(asset_class, ("futures",))
    swap = (
        "swap" in allowed
        and exposure.notional_usd >= config.swap_min_notional
        and basis_score >= config.swap_min_basis_risk
    )
    rules.add(
        "hedging_desk.swap",
        f"notional >= {config.swap_min_notional:,.0f} and basis risk >= {config.swap_min_basis_risk}",
        {"notional": exposure.notional_usd, "basis_risk": basis_score},
        "fire -> swap" if swap else "pass",
    )
    if swap:
        return "swap"
    options = action == "WAIT_FOR_PULLBACK" and "options" in allowed and timing_benefit > premium
    if action == "WAIT_FOR_PULLBACK":
        rules.add(
            "hedging_desk.options_while_waiting",
            "expected timing benefit > option premium",
            {"benefit": timing_benefit, "premium": premium},
            "fire -> options" if options else "pass -> futures later",
        )
    return "options" if options else "futures"


def _scenarios(
    exposure: Exposure, asset_class: str, hedge_ratio: float, instrument: str, target: float, config: HedgingDeskConfig
) -> list[ScenarioPnl]:
    moves = [*config.scenario_moves, _crisis_move(exposure.instrument, asset_class, config)]
    out = []
    for name, move in zip(_scenario_names(config), moves, strict=True):
        unhedged = exposure.sign * exposure.notional_usd * move
        if instrument == "options" and hedge_ratio == 0:
            hedged = unhedged if unhedged >= 0 else unhedged * (1 - target)  # protective options: downside only
        else:
            hedged = unhedged * (1 - hedge_ratio)
        out.append(
            ScenarioPnl(scenario=name, move=r6(move), pnl_unhedged=round(unhedged, 2), pnl_hedged=round(hedged, 2))
        )
    return out


@dataclass(frozen=True)
class _Feature:
    """A symbol's as-of feature row, as far as the desk reads it."""

    close: float | None
    vol: float | None  # rvol_20d
    refs: list[str]  # `feature_refs([symbol], feats)`: the as-of row, which may be older than the day


@dataclass(frozen=True)
class _Day:
    """What every exposure of a day reads, gathered once for the day."""

    day: date
    signals: dict[str, dict[str, Any]]  # symbol -> its signal row at the desk's horizon
    features: dict[str, _Feature]
    closes: dict[str, float]
    vix_pct: float | None
    energy_as_of: date | None
    curves: dict[str, _Curve]


def _day_features(
    inputs: PersonaInputs, day: date, config: HedgingDeskConfig
) -> tuple[dict[str, _Feature], float | None]:
    """(symbol -> its as-of feature row, the last known vix_pct_1y) from plain arrays, not a Series per row."""
    feats = inputs.features_asof(day, config.max_feature_age_days)
    if feats.empty:
        return {}, None
    closes = [num(v) for v in feats["close"].tolist()]
    vols = [num(v) for v in feats["rvol_20d"].tolist()]
    refs = feature_refs_by_symbol(feats)
    symbols = feats["symbol"].tolist()
    features = {str(s): _Feature(c, v, refs_of(refs, [s])) for s, c, v in zip(symbols, closes, vols, strict=True)}
    vix = [v for v in feats["vix_pct_1y"].tolist() if not pd.isna(v)]
    return features, num(vix[-1]) if vix else None


def _day(inputs: PersonaInputs, day: date, config: HedgingDeskConfig) -> _Day:
    features, vix_pct = _day_features(inputs, day, config)
    energy_as_of, curves = _day_energy(inputs, day, config)
    return _Day(
        day=day,
        signals=inputs.signals_by_symbol(day, config.horizon),
        features=features,
        closes={s: f.close for s, f in features.items() if f.close is not None},
        vix_pct=vix_pct,
        energy_as_of=energy_as_of,
        curves=curves,
    )


def _recommend(
    exposure: Exposure, today: _Day, inputs: PersonaInputs, config: HedgingDeskConfig
) -> HedgeRecommendation:
    symbol = exposure.instrument
    asset_class = inputs.asset_class(symbol)
    rules = RulePath()
    sig = today.signals.get(symbol)
    action, urgency, p_adv, p_fav, fav_move, reasons = _timing(exposure, sig, today.vix_pct, config, rules)

    basis_score, basis, roll, basis_notes = _basis_risk(symbol, asset_class, today.curves, today.closes, config, rules)
    reasons += basis_notes

    target = config.hedge_ratios["HEDGE_NOW"]
    ratio = config.hedge_ratios[action]
    feat = today.features.get(symbol)
    vol = feat.vol if feat is not None else None
    vol = vol if vol is not None and vol > 0 else config.default_vol
    t_years = config.horizon / 252
    premium = config.option_premium_factor * vol * math.sqrt(t_years) * exposure.notional_usd * target
    move = math.expm1(fav_move) if fav_move is not None else 0.0
    if action == "HEDGE_NOW":
        timing = exposure.notional_usd * ratio * max(0.0, -move) if fav_move is not None else 0.0
    else:
        timing = exposure.notional_usd * (target - ratio) * move
    instrument = _instrument(action, exposure, asset_class, basis_score, timing, premium, config, rules)

    hedged_now = exposure.notional_usd * ratio
    carry = 0.0
    if instrument == "futures" and roll is not None:
        carry = hedged_now * (-exposure.sign) * roll * t_years
    if instrument == "options":
        cost = -premium
    elif instrument == "swap":
        cost = -hedged_now * config.swap_spread_bps / 1e4
    else:
        cost = -hedged_now * config.futures_cost_bps / 1e4
    total = timing + carry + cost
    baseline = "waiting the horizon unhedged" if action == "HEDGE_NOW" else f"hedging {pct(target)} today"
    assumptions = [
        f"baseline: {baseline}",
        f"horizon {config.horizon} trading days; hedge {pct(ratio)} of the notional now, policy target {pct(target)}",
        "timing uses the model's expected move (calibrated estimate, not a promise)"
        + (f": {signed_pct(move)} for the exposure" if fav_move is not None else ": none available, 0"),
        f"futures cost {config.futures_cost_bps:g} bps; swap spread {config.swap_spread_bps:g} bps; option premium "
        f"~ {config.option_premium_factor:g} x vol {pct(vol)} x sqrt({config.horizon}/252)",
        f"roll carry from the EIA curve dated {today.energy_as_of}: roll yield {fmt(roll)} annualised"
        if roll is not None and instrument == "futures"
        else "no roll carry (no futures curve used)",
        "scenario P&L ignores basis and premium",
    ]
    saving = CostSaving(
        usd=round(total, 2),
        bps=round(1e4 * total / exposure.notional_usd, 2),
        timing_usd=round(timing, 2),
        carry_usd=round(carry, 2),
        cost_usd=round(cost, 2),
        assumptions=assumptions,
    )
    verb = action.replace("_", " ").lower()
    text = (
        f"{exposure.exposure_id} ({exposure.side} {usd(exposure.notional_usd)} {symbol}): {verb} with {instrument}, "
        f"urgency {urgency.lower()}, hedge {pct(ratio)} now; basis risk {basis_score:.2f}; "
        f"estimated saving {usd(total)} ({saving.bps:+.1f} bps)"
    )
    data_refs = [f"exposure:{exposure.exposure_id}"]
    if feat is not None:
        data_refs.extend(feat.refs)
    if today.energy_as_of is not None and symbol in config.energy_curves:
        data_refs.append(f"energy@{today.energy_as_of.isoformat()}")
    return make_item(
        HedgeRecommendation,
        persona=PERSONA,
        as_of=today.day,
        subject=exposure.exposure_id,
        symbol=symbol,
        action=action,
        text=text,
        rules=rules,
        signal_row=sig,  # None: no signal row, an empty provenance
        data_refs=data_refs,
        exposure_id=exposure.exposure_id,
        asset_class=asset_class,
        notional_usd=exposure.notional_usd,
        side=exposure.side,
        horizon=config.horizon,
        urgency=urgency,
        instrument=instrument,
        hedge_ratio=ratio,
        basis_risk_score=r6(basis_score),
        roll_yield=r6(roll),
        basis=r6(basis),
        probability_adverse=r6(p_adv),
        probability_favorable=r6(p_fav),
        expected_move=r6(float(sig["expected_move"])) if sig is not None else None,
        cost_saving=saving,
        scenarios=_scenarios(exposure, asset_class, ratio, instrument, target, config),
        reasons=reasons,
    )


def _aggregate(recs: list[HedgeRecommendation], today: _Day, config: HedgingDeskConfig) -> list[AssetClassExposure]:
    """One summary per asset class; its provenance is the day's signal rows of the class's symbols."""
    out = []
    for asset_class in sorted({r.asset_class for r in recs}):
        members = [r for r in recs if r.asset_class == asset_class]
        scen = []
        for i, name in enumerate(_scenario_names(config)):
            moves = {m.scenarios[i].move for m in members}
            scen.append(
                ScenarioPnl(
                    scenario=name,
                    move=moves.pop() if len(moves) == 1 else None,
                    pnl_unhedged=round(sum(m.scenarios[i].pnl_unhedged for m in members), 2),
                    pnl_hedged=round(sum(m.scenarios[i].pnl_hedged for m in members), 2),
                )
            )
        gross = sum(m.notional_usd for m in members)
        net = sum(m.notional_usd * (1 if m.side == "long" else -1) for m in members)
        hedged = sum(m.notional_usd * m.hedge_ratio for m in members)
        crisis = scen[-1]
        rules = RulePath().add(
            "hedging_desk.aggregate",
            "sum over the class's exposures",
            ", ".join(m.exposure_id for m in members),
            f"{len(members)} exposures",
        )
        text = (
            f"{asset_class}: {len(members)} exposures, gross {usd(gross)}, net {usd(net)}, hedged now {usd(hedged)}; "
            f"crisis P&L {usd(crisis.pnl_unhedged)} unhedged, {usd(crisis.pnl_hedged)} hedged"
        )
        out.append(
            make_item(
                AssetClassExposure,
                persona=PERSONA,
                as_of=today.day,
                subject=asset_class,
                action="SUMMARY",
                text=text,
                rules=rules,
                signals=[today.signals[s] for s in sorted({m.symbol for m in members}) if s in today.signals],
                data_refs=[f"recommendation:{m.recommendation_id}" for m in members],
                asset_class=asset_class,
                n_exposures=len(members),
                gross_notional_usd=round(gross, 2),
                net_notional_usd=round(net, 2),
                hedged_notional_usd=round(hedged, 2),
                scenarios=scen,
            )
        )
    return out


def build_hedging_desk(inputs: PersonaInputs, day: date, config: HedgingDeskConfig | None = None) -> HedgingDeskOutput:
    """The desk's recommendations for `day`: one per exposure, then the asset-class aggregation."""
    config = config or HedgingDeskConfig()
    exposures = resolve_exposures(config, inputs)
    today = _day(inputs, day, config)
    recs = [_recommend(e, today, inputs, config) for e in sorted(exposures, key=lambda e: e.exposure_id)]
    return HedgingDeskOutput(
        as_of=day,
        horizon=config.horizon,
        energy_as_of=today.energy_as_of,
        recommendations=recs,
        asset_classes=_aggregate(recs, today, config),
    )


def to_rows(output: HedgingDeskOutput) -> pa.Table:
    return output_rows(output)
