"""Wealth manager: the weekly "Market Intelligence Report" content (regime, allocation adjustments, key signals,
risk factors, chart data); `report_pdf.render_report` turns it into the client PDF.

Allocation adjustments tilt the strategic weights by the confidence-weighted ensemble score of each class's
signals, capped and rounded, with an extra cut of risky classes in a risk-off regime; cash balances the table, so
targets always sum to the strategic total. Every statement is an item with a recommendation id, and every chart
names the items it illustrates, so anything a client reads can be traced in the audit trail.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.personas.common import (
    RulePath,
    feature_refs,
    frame_records,
    guard_reason,
    lean,
    make_item,
    more_likely_than_not,
    num,
    odds,
    pct,
    r6,
    regime_family,
    regime_sentence,
    regime_words,
    signed_pct,
)
from assets.personas.config import InstitutionalConfig, WealthManagerConfig
from assets.personas.hedge_fund import conviction_score
from assets.personas.inputs import PersonaInputs
from assets.personas.institutional import correlation_alerts
from assets.personas.models import (
    AllocationAdjustment,
    ChartSpec,
    KeySignal,
    RegimeView,
    RiskFactor,
    WealthManagerOutput,
)
from assets.personas.tables import output_rows

PERSONA = "wealth_manager"
DISCLAIMER = (
    "This report is for professional advisers and their clients and is not a personal recommendation. Signals are "
    "probabilistic model estimates calibrated on historical data; they can be wrong, and past performance is not a "
    "reliable indicator of future results. Allocation adjustments are tactical suggestions around the strategic "
    "allocation and must be checked against each client's objectives, constraints and risk profile. Every statement "
    "carries a reference [Rn] to its entry in the Nexus audit trail."
)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column as a Python list ([] for an empty frame, which may lack columns). A day has a dozen signal rows:
    plain lists beat pandas' per-element access and per-value masks."""
    return [] if frame.empty else frame[name].tolist()


def _positions(values: list[Any]) -> dict[Any, list[int]]:
    """Each value's row positions, in row order (`rows[column == value]` as `rows.iloc[positions]`)."""
    out: dict[Any, list[int]] = {}
    for position, value in enumerate(values):
        out.setdefault(value, []).append(position)
    return out


def _first_of_each(keys: list[Any], positions: list[int] | range) -> dict[Any, int]:
    """The first position of each key among `positions`, in that order (as `drop_duplicates(column)`)."""
    out: dict[Any, int] = {}
    for position in positions:
        out.setdefault(keys[position], position)
    return out


def _regime(day: date, signals: pd.DataFrame, inputs: PersonaInputs, config: WealthManagerConfig) -> RegimeView:
    rules = RulePath()
    records = frame_records(signals)  # the rows, cited by the item
    symbols, regimes = _column(signals, "symbol"), _column(signals, "regime")
    ref_positions = _positions(symbols).get(config.reference_symbol, [])
    if ref_positions:
        first = ref_positions[0]
        regime, confidence = str(regimes[first]), float(_column(signals, "regime_probability")[first])
        used = [records[i] for i in ref_positions]
        rules.add("wealth_manager.reference_symbol", f"regime of {config.reference_symbol}", regime, "used")
    elif symbols:
        counts = Counter(regimes)
        regime = min(counts, key=lambda r: (-counts[r], r))  # ties by name: row order must not matter
        used = [records[i] for i in _positions(regimes)[regime]]
        confidence = float(np.mean([r["regime_probability"] for r in used]))  # as Series.mean: one numpy sum
        rules.add(
            "wealth_manager.reference_symbol", f"{config.reference_symbol} missing: most common regime", regime, "used"
        )
    else:
        regime, confidence, used = "SIDEWAYS", 0.0, []
        rules.add("wealth_manager.reference_symbol", "no signals", "none", "SIDEWAYS with confidence 0")
    per_symbol = _first_of_each(symbols, range(len(symbols))).values()
    n = len(per_symbol)
    family = regime_family(regime)
    same = sum(1 for i in per_symbol if regime_family(regimes[i]) == family)
    agreement = same / n if n else 0.0
    rules.add(
        "wealth_manager.agreement", "share of instruments in the same regime family", f"{same}/{n}", f"{agreement:.2f}"
    )
    name = f"the {inputs.name(config.reference_symbol)}" if ref_positions else "the market"
    text = f"{_upper_first(regime_sentence(name, regime, confidence))}; {same} of {n} instruments "
    text += f"{'is' if same == 1 else 'are'} in a regime of the same family."
    return make_item(
        RegimeView,
        persona=PERSONA,
        as_of=day,
        subject=config.reference_symbol if ref_positions else "market",
        symbol=config.reference_symbol if ref_positions else None,
        action=regime,
        text=text,
        rules=rules,
        signals=used,
        regime=regime,
        confidence=r6(confidence),
        agreement=r6(agreement),
    )


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _floor_step(value: float, step: float) -> float:
    return math.copysign(math.floor(abs(value) / step + 1e-9) * step, value)


def _stance(adjustment: float, config: WealthManagerConfig) -> str:
    if adjustment >= config.neutral_band:
        return "OVERWEIGHT"
    return "UNDERWEIGHT" if adjustment <= -config.neutral_band else "NEUTRAL"


def class_label(cls: str) -> str:
    return {"fx": "Currencies", "rates": "Rates (bonds)"}.get(cls, cls.capitalize())


def _scale_overweights(tilts: dict[str, float], budget: float, step: float) -> dict[str, float]:
    """Positive tilts scaled down (in steps) so that they add up to at most `budget`."""
    over = sum(v for v in tilts.values() if v > 0)
    if over <= budget + 1e-12:
        return dict(tilts)
    factor = max(budget, 0.0) / over
    return {c: _floor_step(v * factor, step) if v > 0 else v for c, v in tilts.items()}


def _class_positions(signals: pd.DataFrame, inputs: PersonaInputs) -> dict[str, list[int]]:
    """Each asset class's row positions, ordered by symbol and horizon (as a stable `sort_values`)."""
    symbols, horizons = _column(signals, "symbol"), _column(signals, "horizon")
    class_of = {symbol: inputs.asset_class(symbol) for symbol in set(symbols)}
    out: dict[str, list[int]] = {}
    for position in sorted(range(len(symbols)), key=lambda i: (symbols[i], horizons[i])):
        out.setdefault(class_of[symbols[position]], []).append(position)
    return out


def _class_score(confidence: np.ndarray, ensemble: np.ndarray) -> float | None:
    """Confidence-weighted mean ensemble score (None without weight); NaN-skipping sums as pandas' `Series.sum`."""
    weight = float(np.nansum(confidence)) if len(confidence) else 0.0
    return float(np.nansum(confidence * ensemble) / weight) if weight > 0 else None


def allocation_adjustments(
    day: date, signals: pd.DataFrame, regime: str, inputs: PersonaInputs, config: WealthManagerConfig
) -> list[AllocationAdjustment]:
    """Tactical adjustments per asset class that agree with the signals, the drawdown guard and the regime.

    Each class's adjustment is a signal tilt (confidence-weighted ensemble score x scale, capped, in steps) minus a
    de-risking cut: the drawdown guard's (a class with a cut instrument loses `guard_tilt` x the mean share the
    guard takes, at least one step) plus the risk-off regime's. A de-risked class is never overweight, and the
    weight it gives up goes to cash: while anything is de-risked the signal tilts may not add up to more than zero
    (overweights are scaled down until underweights fund them), so cash gains at least the total cut. Otherwise
    cash funds the net tilt down to zero. Targets always sum to the strategic total.
    """
    classes = sorted(c for c in config.strategic_weights if c != "cash" and c not in config.excluded_asset_classes)
    risk_off = regime in config.risk_off_regimes
    by_class = _class_positions(signals, inputs)
    symbols, states, regimes = (_column(signals, c) for c in ("symbol", "drawdown_state", "regime"))
    confidence = signals["confidence"].to_numpy(dtype="float64") if symbols else np.empty(0)
    ensemble = signals["ensemble_score"].to_numpy(dtype="float64") if symbols else np.empty(0)
    records = frame_records(signals)  # the rows, cited by each class's item
    tilts: dict[str, float] = {}
    cuts: dict[str, float] = {}
    details: dict[str, tuple[float | None, RulePath, list[int], list[str]]] = {}
    for cls in classes:
        positions = by_class.get(cls, [])
        score = _class_score(confidence[positions], ensemble[positions])
        strategic = config.strategic_weights[cls]
        cap = min(config.max_tilt, strategic)
        raw = (score or 0.0) * config.tilt_scale
        tilt = _floor_step(max(-cap, min(config.max_tilt, raw)), config.step)
        rules = RulePath().add(
            "wealth_manager.tilt_scale",
            f"confidence-weighted ensemble score x {config.tilt_scale}, |tilt| <= {config.max_tilt}, "
            f"steps of {config.step}",
            {"score": score, "signals": len(positions)},
            f"{tilt:+.4f}",
        )
        per_symbol = _first_of_each(symbols, positions)
        shares = [config.guard_cut_shares.get(str(states[i]), 1.0) for i in per_symbol.values()]
        guarded = sorted(str(sym) for sym, sh in zip(per_symbol, shares, strict=True) if sh > 0)
        cut = 0.0
        if guarded:
            mean_share = sum(shares) / len(shares)
            guard_cut = max(config.step, _floor_step(config.guard_tilt * mean_share, config.step))
            cut += guard_cut
            rules.add(
                "wealth_manager.guard_tilt",
                f"drawdown guard cuts {guarded}: max(step, {config.guard_tilt} x mean cut share)",
                f"{mean_share:.4f}",
                f"-{guard_cut:.4f}",
            )
        if risk_off and cls in config.risk_off_classes and config.risk_off_tilt > 0:
            cut += config.risk_off_tilt
            rules.add(
                "wealth_manager.risk_off_tilt",
                f"regime in {list(config.risk_off_regimes)}",
                regime,
                f"-{config.risk_off_tilt}",
            )
        if cut > 0:
            cut = min(cut, cap)  # the target stays >= 0 and moves at most max_tilt
            limited = max(min(tilt, 0.0), cut - cap)
            rules.add(
                "wealth_manager.derisked_not_overweight",
                "a de-risked class is never overweight; the cut comes first within the cap",
                f"{tilt:+.4f}",
                f"signal tilt {limited:+.4f}, cut -{cut:.4f}",
            )
            tilt = limited
        tilts[cls], cuts[cls] = tilt, cut
        details[cls] = (score, rules, positions, guarded)
    cash = config.strategic_weights["cash"]
    derisked = sum(cuts.values())
    if derisked > 0:  # cash absorbs the de-risking: overweights are funded by underweights only
        budget = -sum(v for v in tilts.values() if v < 0)
        rule = ("wealth_manager.cash_absorbs_derisking", "while de-risking, overweights <= underweights")
    else:  # cash cannot go negative
        budget = cash - sum(v for v in tilts.values() if v < 0)
        rule = ("wealth_manager.cash_floor", "cash target >= 0")
    scaled = _scale_overweights(tilts, budget, config.step)
    for cls, v in scaled.items():
        if v != tilts[cls]:
            details[cls][1].add(*rule, f"overweights {sum(x for x in tilts.values() if x > 0):+.4f}", f"{v:+.4f}")
    raw_tilts, tilts = tilts, scaled
    out = []
    for cls in classes:
        tilt, cut = round(tilts[cls], 6), round(cuts[cls], 6)
        adj = round(tilt - cut, 6)
        score, rules, positions, guarded = details[cls]
        stance = _stance(adj, config)
        strategic = config.strategic_weights[cls]
        reasons = []
        if guarded:
            names = "; ".join(
                guard_reason(inputs.name(sym), st, reg)
                for sym, st, reg in ((symbols[i], states[i], regimes[i]) for i in positions)
                if sym in guarded
            )
            reasons.append(f"the strategy's drawdown guard has cut {names}")
        if risk_off and cls in config.risk_off_classes and cut > 0:
            reasons.append(f"the market is in a {regime_words(regime)} regime")
        move = (
            f"unchanged at {pct(strategic, 1)}"
            if adj == 0
            else f"{signed_pct(adj, 1)} to {pct(strategic + adj, 1)} (strategic {pct(strategic, 1)})"
        )
        text = (
            f"{class_label(cls)}: {stance.lower()}, {move}; signal score "
            f"{'n/a' if score is None else f'{score:+.2f}'} (scale -1 to +1)."
        )
        if cut > 0:
            text += f" {_upper_first('; '.join(reasons))}, so {pct(cut, 1)} moves to cash"
            text += f" and the signals add {signed_pct(tilt, 1)}." if tilt else "."
        elif scaled[cls] != raw_tilts[cls]:
            text += " The overweight is held back so that cash keeps the weight released by de-risking."
        out.append(
            make_item(
                AllocationAdjustment,
                persona=PERSONA,
                as_of=day,
                subject=cls,
                action=stance,
                text=text,
                rules=rules,
                signals=[records[i] for i in positions],
                asset_class=cls,
                strategic_weight=r6(strategic),
                adjustment=adj,
                target_weight=r6(strategic + adj),
                score=r6(score),
                signal_tilt=tilt,
                derisk_cut=cut,
                guarded=guarded,
            )
        )
    cash_adj = round(-sum(a.adjustment for a in out), 6)
    cash_cut = round(sum(a.derisk_cut for a in out), 6)
    rules = RulePath().add(
        "wealth_manager.cash",
        "cash balances the adjustments (targets sum to 100%) and takes every de-risking cut",
        {"cuts": cash_cut, "signal_tilts": -sum(a.signal_tilt for a in out)},
        f"{cash_adj:+.4f}",
    )
    text = f"Cash: {signed_pct(cash_adj, 1)} to {pct(cash + cash_adj, 1)} (strategic {pct(cash, 1)}), "
    text += (
        f"taking the {pct(cash_cut, 1)} released by de-risking and balancing the other adjustments."
        if cash_cut > 0
        else "balancing the adjustments above."
    )
    out.append(
        make_item(
            AllocationAdjustment,
            persona=PERSONA,
            as_of=day,
            subject="cash",
            action=_stance(cash_adj, config),
            text=text,
            rules=rules,
            data_refs=[f"recommendation:{a.recommendation_id}" for a in out],
            asset_class="cash",
            strategic_weight=r6(cash),
            adjustment=cash_adj,
            target_weight=r6(cash + cash_adj),
            score=None,
            signal_tilt=round(cash_adj - cash_cut, 6),
            derisk_cut=cash_cut,
        )
    )
    return out


def _key_signals(
    day: date, signals: pd.DataFrame, inputs: PersonaInputs, config: WealthManagerConfig
) -> list[KeySignal]:
    candidates = [
        s
        for s in frame_records(signals)
        if s["direction"] != "FLAT"
        and s["confidence"] >= config.min_confidence
        and more_likely_than_not(s["probability"])
    ]
    scored = sorted(
        ((round(conviction_score(s), 9), str(s["symbol"]), s) for s in candidates),  # type: ignore[arg-type]
        key=lambda x: (-x[0], x[1]),
    )[: config.key_signals]
    out = []
    for rank, (score, symbol, sig) in enumerate(scored, start=1):
        rules = (
            RulePath()
            .add(
                "wealth_manager.min_confidence",
                f"direction not FLAT, more likely than not, and confidence >= {config.min_confidence}",
                {"confidence": float(sig["confidence"]), "probability": float(sig["probability"])},
                "pass",
            )
            .add(
                "wealth_manager.key_signals", f"top {config.key_signals} by conviction", f"{score:.4f}", f"rank {rank}"
            )
        )
        direction = str(sig["direction"])
        text = (
            f"{inputs.name(symbol)}: over the next {config.horizon} trading days the signal "
            f"{lean(direction, float(sig['probability']))}: "
            f"{odds(direction, float(sig['prob_up']), float(sig['prob_flat']), float(sig['prob_down']))} "
            f"(expected move {signed_pct(math.expm1(float(sig['expected_move'])))})."
        )
        state = str(sig["drawdown_state"])
        if config.guard_cut_shares.get(state, 1.0) > 0:
            text += f" The strategy's drawdown guard has cut {guard_reason('this position', state, sig['regime'])}."
        out.append(
            make_item(
                KeySignal,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=str(sig["direction"]),
                text=text,
                rules=rules,
                signal_row=sig,
                horizon=config.horizon,
                probability=r6(float(sig["probability"])),
                confidence=r6(float(sig["confidence"])),
                expected_move=r6(float(sig["expected_move"])),
                conviction=r6(score),
            )
        )
    return out


def _risk_factors(
    day: date, signals: pd.DataFrame, feats: pd.DataFrame, inputs: PersonaInputs, config: WealthManagerConfig
) -> list[RiskFactor]:
    out: list[RiskFactor] = []

    def add(
        subject: str,
        factor: str,
        severity: str,
        action: str,
        text: str,
        rules: RulePath,
        used: list[dict[str, Any]] | None = None,
        refs: list[str] | None = None,
        symbol: str | None = None,
    ) -> None:
        out.append(
            make_item(
                RiskFactor,
                persona=PERSONA,
                as_of=day,
                subject=subject,
                symbol=symbol,
                action=action,
                text=text,
                rules=rules,
                signals=used,
                data_refs=refs or [],
                severity=severity,
                factor=factor,
            )
        )

    vix_pct_values = _column(feats, "vix_pct_1y")
    vix_last = next((i for i in reversed(range(len(vix_pct_values))) if not pd.isna(vix_pct_values[i])), None)
    if vix_last is not None:
        vix_pct, vix = num(vix_pct_values[vix_last]), num(_column(feats, "vix")[vix_last])
        if vix_pct is not None and vix_pct >= config.high_vix_pct:
            rules = RulePath().add(
                "wealth_manager.high_vix_pct", f"vix_pct_1y >= {config.high_vix_pct}", vix_pct, "fire"
            )
            add(
                "volatility",
                "volatility",
                "HIGH",
                "REDUCE_RISK",
                f"Volatility is elevated: the VIX at {vix:.1f} is above {pct(vix_pct)} of its past year."
                if vix is not None
                else f"Volatility is elevated (VIX percentile {pct(vix_pct)}).",
                rules,
                refs=feature_refs([str(_column(feats, "symbol")[vix_last])], feats.iloc[[vix_last]]),
            )
    symbols, regimes, states = (_column(signals, c) for c in ("symbol", "regime", "drawdown_state"))
    by_regime = _positions(regimes)
    records = frame_records(signals)  # the rows, cited by the items
    for regime in sorted(r for r in by_regime if r in config.risk_off_regimes):
        positions = by_regime[regime]
        names = ", ".join(inputs.name(s) for s in sorted(symbols[i] for i in positions))
        rules = RulePath().add(
            "wealth_manager.risk_off_regimes", f"regime in {list(config.risk_off_regimes)}", regime, "fire"
        )
        add(
            f"regime:{regime}",
            "regime",
            "HIGH" if regime == "CRISIS" else "MEDIUM",
            "REDUCE_RISK",
            f"The model places {names} in a {regime_words(regime)} regime, a description of recent behaviour "
            "rather than a forecast.",
            rules,
            used=[records[i] for i in positions],
        )
    cut = [i for i, state in enumerate(states) if state in config.reduce_drawdown_states]
    if cut:
        names = "; ".join(guard_reason(inputs.name(symbols[i]), states[i], regimes[i]) for i in cut)
        rules = RulePath().add(
            "wealth_manager.reduce_drawdown_states", f"state in {list(config.reduce_drawdown_states)}", len(cut), "fire"
        )
        add(
            "drawdown",
            "drawdown",
            "MEDIUM",
            "REDUCE_RISK",
            f"The strategy's drawdown guard has cut risk on {names}; the allocation moves the released weight to cash.",
            rules,
            used=[records[i] for i in cut],
        )
    for feat_symbol, feat_z52 in zip(_column(feats, "symbol"), _column(feats, "cot_spec_z52"), strict=True):
        z52 = num(feat_z52)
        if z52 is None or abs(z52) < config.cot_extreme_z:
            continue
        symbol = str(feat_symbol)
        rules = RulePath().add("wealth_manager.cot_extreme_z", f"|cot_spec_z52| >= {config.cot_extreme_z}", z52, "fire")
        side = "long" if z52 > 0 else "short"
        add(
            f"positioning:{symbol}",
            "positioning",
            "MEDIUM",
            "MONITOR",
            f"Speculators are unusually {side} {inputs.name(symbol)} (z-score {z52:+.1f} against their past year), "
            "which raises the risk of a sharp reversal.",
            rules,
            refs=feature_refs([symbol], feats),
            symbol=symbol,
        )
    by_symbol = _positions(symbols)
    for sym, var_99 in zip(symbols, _column(signals, "var_99"), strict=True):
        if not var_99 >= config.high_var_99:
            continue
        symbol = str(sym)
        rules = RulePath().add("wealth_manager.high_var_99", f"var_99 >= {config.high_var_99}", float(var_99), "fire")
        add(
            f"var:{symbol}",
            "value at risk",
            "MEDIUM",
            "MONITOR",
            f"{inputs.name(symbol)}: one-day 99% value at risk of the model position is {pct(float(var_99), 1)} "
            "of capital.",
            rules,
            used=[records[i] for i in by_symbol[sym]],
            symbol=symbol,
        )
    alerts = [
        a
        for a in correlation_alerts(day, inputs, InstitutionalConfig(correlation=config.correlation))
        if a.action in ("BREAKDOWN", "FLIP")
    ]
    if alerts:
        pairs = ", ".join(
            f"{a.subject.replace('~', '/')} ({a.corr_long:+.2f} to {a.corr_short:+.2f})" for a in alerts[:3]
        )
        rules = RulePath().add(
            "institutional.correlation", "correlation breakdown or flip on a linked pair", len(alerts), "fire"
        )
        add(
            "correlation",
            "diversification",
            "MEDIUM",
            "MONITOR",
            f"Usual correlations have broken down ({pairs}), so diversification may behave differently than usual.",
            rules,
            refs=[f"recommendation:{a.recommendation_id}" for a in alerts],
        )
    if not out:
        rules = RulePath().add("wealth_manager.risk_factors", "no risk rule fired", 0, "none")
        add("none", "none", "LOW", "NONE", "No elevated risk flags this week.", rules)
    order = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    return sorted(out, key=lambda r: (order[r.severity], r.subject))


class _Closes(NamedTuple):
    """Closes of the chart symbols over all days: one row per date with a close, sorted."""

    stamps: np.ndarray  # int64 nanoseconds since the epoch
    weeks: np.ndarray  # int64 day number of the Friday ending each date's week (the W-FRI bin label)
    symbols: list[str]
    values: np.ndarray  # dates x symbols, NaN where a symbol has no close


_NS_PER_DAY = 86_400 * 10**9


def _chart_closes(inputs: PersonaInputs, symbols: tuple[str, ...]) -> _Closes:
    """One pivot for every day's chart (each day cuts its window from it), instead of a frame pipeline per day."""
    prices = inputs.prices
    wide = prices[prices["symbol"].isin(symbols)].pivot_table(
        index="trade_date", columns="symbol", values="close", aggfunc="last"
    )
    stamps = pd.DatetimeIndex(wide.index).as_unit("ns").asi8
    days = stamps // _NS_PER_DAY
    weekday = (days + 3) % 7  # day 0, 1970-01-01, was a Thursday; Monday = 0
    return _Closes(stamps, days + (4 - weekday) % 7, [str(c) for c in wide.columns], wide.to_numpy(dtype="float64"))


def _ffill(values: np.ndarray) -> np.ndarray:
    """Each column's NaNs filled with its last value above (leading NaNs stay), as `DataFrame.ffill`."""
    rows = np.where(np.isnan(values), 0, np.arange(len(values))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    return np.take_along_axis(values, rows, axis=0)


def _weekly_rebased(closes: _Closes, day: date, lookback_days: int) -> tuple[list[str], dict[str, list[float | None]]]:
    """The window's weekly closes (Friday labels) rebased to 100 at each symbol's first week, rounded to 4 decimals:
    `prices_wide(...).ffill().resample("W-FRI").last()` divided by its first valid row, on numpy arrays. A week's
    last close after the forward fill is its last row's; weeks without rows have no row."""
    end = pd.Timestamp(day).value
    lo = int(np.searchsorted(closes.stamps, end - lookback_days * _NS_PER_DAY, side="right"))
    hi = int(np.searchsorted(closes.stamps, end, side="right"))
    values, weeks = closes.values[lo:hi], closes.weeks[lo:hi]
    dated = ~np.isnan(values).all(axis=1)
    values, weeks = values[dated], weeks[dated]
    present = ~np.isnan(values).all(axis=0)
    if not present.any():
        return [], {}
    values = _ffill(values[:, present])
    last = np.flatnonzero(np.append(weeks[1:] != weeks[:-1], True))  # each week's last row
    weekly, labels = values[last], weeks[last]
    first = np.argmax(~np.isnan(weekly), axis=0)
    rebased = np.round(weekly / weekly[first, np.arange(weekly.shape[1])] * 100, 4)
    symbols = [s for s, p in zip(closes.symbols, present.tolist(), strict=True) if p]
    series = {s: [None if math.isnan(v) else v for v in rebased[:, j].tolist()] for j, s in enumerate(symbols)}
    return np.datetime_as_string(labels.astype("datetime64[D]")).tolist(), series


def _charts(
    day: date,
    inputs: PersonaInputs,
    signals: pd.DataFrame,
    allocations: list[AllocationAdjustment],
    key: list[KeySignal],
    regime: RegimeView,
    config: WealthManagerConfig,
) -> list[ChartSpec]:
    charts = [
        ChartSpec(
            chart_id="allocation",
            title="Allocation adjustments (percentage points)",
            kind="bar",
            caption="Tactical adjustment per asset class against the strategic allocation.",
            refs=[a.recommendation_id for a in allocations],
            labels=[class_label(a.asset_class) for a in allocations],
            series={"adjustment_pp": [round(100 * a.adjustment, 4) for a in allocations]},
            y_label="percentage points",
        )
    ]
    chart_symbols = tuple(config.chart_symbols)
    closes = inputs.memo(
        ("wealth_manager.chart_closes", chart_symbols), (inputs.prices,), lambda: _chart_closes(inputs, chart_symbols)
    )
    labels, weekly = _weekly_rebased(closes, day, config.chart_days)
    symbols = [s for s in chart_symbols if s in weekly]
    if symbols:
        # a yield instrument's close is its yield: said, so a reader does not take a falling line for falling bonds
        yields = [s for s in symbols if inputs.universe.instrument(s).price.kind == "yield"]
        yield_note = (
            f" {', '.join(yields)}: the yield itself, rebased the same way (it falls when the bond's price rises)."
            if yields
            else ""
        )
        charts.append(
            ChartSpec(
                chart_id="prices",
                title=f"Prices over the past {config.chart_days} days (start = 100)",
                kind="line",
                caption="Weekly closes of the key markets, rebased to 100 at the start of the window." + yield_note,
                refs=[regime.recommendation_id],
                labels=labels,
                series={s: weekly[s] for s in symbols},
            )
        )
    symbols, scores = _column(signals, "symbol"), _column(signals, "ensemble_score")
    per_symbol = sorted(_first_of_each(symbols, range(len(symbols))).items())
    if per_symbol:
        charts.append(
            _score_chart(
                day, inputs, [s for s, _ in per_symbol], [scores[i] for _, i in per_symbol], allocations, key, config
            )
        )
    return charts


SCORE_CHART_TITLE = "Combined signal score per instrument: what the allocation uses (model part + rules part)"


def _score_parts_by_day(score_parts: pd.DataFrame, horizon: int) -> dict[pd.Timestamp, dict[str, tuple[Any, Any]]]:
    """Per signal day, each symbol's first (model_part, rules_part) at `horizon`: one pass for all days instead of
    a mask, dedup and reindex per day."""
    out: dict[pd.Timestamp, dict[str, tuple[Any, Any]]] = {}
    if score_parts.empty:
        return out
    columns = ("signal_date", "horizon", "symbol", "model_part", "rules_part")
    for day, h, symbol, model, rules in zip(*(score_parts[c].tolist() for c in columns), strict=True):
        if h == horizon:
            out.setdefault(day, {}).setdefault(symbol, (model, rules))
    return out


def _score_chart(
    day: date,
    inputs: PersonaInputs,
    symbols: list[str],
    scores: list[float],
    allocations: list[AllocationAdjustment],
    key: list[KeySignal],
    config: WealthManagerConfig,
) -> ChartSpec:
    """The quantity the allocation tilts by, per instrument: each signal's combined score, with the model's and the
    rule signals' parts stacked below it when they are known (score_parts.py), and a caption that rebuilds each
    class's score in the allocation table from the instruments' scores, so chart and table reconcile on the page."""
    combined = [round(float(v), 4) for v in scores]
    by_day = inputs.memo(
        ("wealth_manager.score_parts", config.horizon),
        (inputs.score_parts,),
        lambda: _score_parts_by_day(inputs.score_parts, config.horizon),
    )
    day_parts = by_day.get(pd.Timestamp(day), {})
    parts = [day_parts.get(s, (math.nan, math.nan)) for s in symbols]
    series: dict[str, list[float | None]] = {"combined_score": list(combined)}
    if not any(pd.isna(model) for model, _ in parts):
        series["model_part"] = [round(float(model), 4) for model, _ in parts]
        series["rules_part"] = [round(float(rules), 4) for _, rules in parts]
    by_class: dict[str, list[str]] = {}
    for symbol, value in zip(symbols, combined, strict=True):
        by_class.setdefault(inputs.asset_class(symbol), []).append(f"{symbol} {value:+.2f}")
    reconcile = "; ".join(
        f"{class_label(a.asset_class)} {a.score:+.2f} from {', '.join(by_class.get(a.asset_class, []))}"
        for a in allocations
        if a.score is not None
    )
    split = (
        "Bars: the model's part (its probability of a rise minus a fall, times its weight) and the rule signals' "
        "part (weights learned from how well each predicted in the past); diamond: their sum, capped at -1 and +1. "
        if len(series) > 1
        else ""
    )
    return ChartSpec(
        chart_id="scores",
        title=f"{SCORE_CHART_TITLE}, next {config.horizon} trading days",
        kind="parts" if len(series) > 1 else "bar",
        caption=f"{split}Above zero the signals lean to a rise, below zero to a fall. Each class's score in the "
        f"allocation table is the confidence-weighted average of its instruments' combined scores: {reconcile}.",
        y_label="combined score (-1 to +1)",
        refs=[a.recommendation_id for a in allocations if a.score is not None] + [k.recommendation_id for k in key],
        labels=symbols,
        series=series,
    )


def build_wealth_manager(
    inputs: PersonaInputs, day: date, config: WealthManagerConfig | None = None
) -> WealthManagerOutput:
    """The report's content for the week ending `day` (signals of `day`, the week's prices in the charts)."""
    config = config or WealthManagerConfig()
    signals = inputs.signals_on(day, config.horizon)
    feats = inputs.features_asof(day, config.max_feature_age_days)
    regime = _regime(day, signals, inputs, config)
    allocations = allocation_adjustments(day, signals, regime.regime, inputs, config)
    key = _key_signals(day, signals, inputs, config)
    return WealthManagerOutput(
        as_of=day,
        title=config.title,
        client=config.client,
        week_start=day - timedelta(days=day.weekday()),
        horizon=config.horizon,
        regime=regime,
        allocations=allocations,
        key_signals=key,
        risk_factors=_risk_factors(day, signals, feats, inputs, config),
        charts=_charts(day, inputs, signals, allocations, key, regime, config),
        disclaimer=DISCLAIMER,
    )


def to_rows(output: WealthManagerOutput) -> pa.Table:
    return output_rows(output)
