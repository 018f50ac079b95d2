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

import pandas as pd
import pyarrow as pa

from assets.personas.common import RulePath, feature_refs, make_item, num, pct, r6, regime_family, signed_pct
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


def _regime(day: date, signals: pd.DataFrame, inputs: PersonaInputs, config: WealthManagerConfig) -> RegimeView:
    rules = RulePath()
    ref = signals[signals["symbol"] == config.reference_symbol]
    if not ref.empty:
        regime, confidence = str(ref["regime"].iloc[0]), float(ref["regime_probability"].iloc[0])
        used = ref
        rules.add("wealth_manager.reference_symbol", f"regime of {config.reference_symbol}", regime, "used")
    elif not signals.empty:
        counts = Counter(signals["regime"])
        regime = min(counts, key=lambda r: (-counts[r], r))  # ties by name: row order must not matter
        used = signals[signals["regime"] == regime]
        confidence = float(used["regime_probability"].mean())
        rules.add(
            "wealth_manager.reference_symbol", f"{config.reference_symbol} missing: most common regime", regime, "used"
        )
    else:
        regime, confidence, used = "SIDEWAYS", 0.0, signals
        rules.add("wealth_manager.reference_symbol", "no signals", "none", "SIDEWAYS with confidence 0")
    per_symbol = signals.drop_duplicates("symbol")
    n = len(per_symbol)
    same = int((per_symbol["regime"].map(regime_family) == regime_family(regime)).sum()) if n else 0
    agreement = same / n if n else 0.0
    rules.add(
        "wealth_manager.agreement", "share of instruments in the same regime family", f"{same}/{n}", f"{agreement:.2f}"
    )
    name = inputs.name(config.reference_symbol) if not ref.empty else "the market"
    text = (
        f"The model reads the regime of {name} as {regime.replace('_', ' ').lower()} with a probability of "
        f"{pct(confidence)}; {same} of {n} instruments are in a regime of the same family."
    )
    return make_item(
        RegimeView,
        persona=PERSONA,
        as_of=day,
        subject=config.reference_symbol if not ref.empty else "market",
        symbol=config.reference_symbol if not ref.empty else None,
        action=regime,
        text=text,
        rules=rules,
        signals=used,
        regime=regime,
        confidence=r6(confidence),
        agreement=r6(agreement),
    )


def _floor_step(value: float, step: float) -> float:
    return math.copysign(math.floor(abs(value) / step + 1e-9) * step, value)


def _allocations(
    day: date, signals: pd.DataFrame, regime: str, inputs: PersonaInputs, config: WealthManagerConfig
) -> list[AllocationAdjustment]:
    classes = [c for c in config.strategic_weights if c != "cash" and c not in config.excluded_asset_classes]
    risk_off = regime in config.risk_off_regimes
    with_class = signals.assign(asset_class=signals["symbol"].map(inputs.asset_class)) if not signals.empty else signals
    adjustments: dict[str, float] = {}
    details: dict[str, tuple[float | None, RulePath, pd.DataFrame]] = {}
    for cls in sorted(classes):
        rows = with_class[with_class["asset_class"] == cls] if not with_class.empty else with_class
        weight = float(rows["confidence"].sum()) if not rows.empty else 0.0
        score = float((rows["confidence"] * rows["ensemble_score"]).sum() / weight) if weight > 0 else None
        raw = (score or 0.0) * config.tilt_scale
        rules = RulePath().add(
            "wealth_manager.tilt_scale",
            f"confidence-weighted ensemble score x {config.tilt_scale}",
            {"score": score, "signals": len(rows)},
            f"{raw:+.4f}",
        )
        if risk_off and cls in config.risk_off_classes:
            raw -= config.risk_off_tilt
            rules.add(
                "wealth_manager.risk_off_tilt",
                f"regime in {list(config.risk_off_regimes)}",
                regime,
                f"-{config.risk_off_tilt}",
            )
        strategic = config.strategic_weights[cls]
        capped = max(-min(config.max_tilt, strategic), min(config.max_tilt, raw))
        rounded = _floor_step(capped, config.step)
        rules.add(
            "wealth_manager.max_tilt",
            f"|adjustment| <= {config.max_tilt}, steps of {config.step}",
            raw,
            f"{rounded:+.4f}",
        )
        adjustments[cls] = rounded
        details[cls] = (score, rules, rows)
    cash = config.strategic_weights["cash"]
    total = sum(adjustments.values())
    if total > cash:  # cash cannot go negative: scale the overweights down
        over = sum(v for v in adjustments.values() if v > 0)
        factor = (over - (total - cash)) / over if over > 0 else 0.0
        for cls, v in adjustments.items():
            if v > 0:
                adjustments[cls] = _floor_step(v * factor, config.step)
                details[cls][1].add(
                    "wealth_manager.cash_floor",
                    "cash target >= 0",
                    f"{total:+.4f}",
                    f"scaled to {adjustments[cls]:+.4f}",
                )
    out = []
    for cls in sorted(classes):
        adj = round(adjustments[cls], 6)
        score, rules, rows = details[cls]
        stance = (
            "OVERWEIGHT" if adj >= config.neutral_band else "UNDERWEIGHT" if adj <= -config.neutral_band else "NEUTRAL"
        )
        strategic = config.strategic_weights[cls]
        text = (
            f"{cls.capitalize()}: {stance.lower()}, {signed_pct(adj, 1)} to {pct(strategic + adj, 1)} "
            f"(strategic {pct(strategic, 1)}); signal score {'n/a' if score is None else f'{score:+.2f}'}."
        )
        out.append(
            make_item(
                AllocationAdjustment,
                persona=PERSONA,
                as_of=day,
                subject=cls,
                action=stance,
                text=text,
                rules=rules,
                signals=rows,
                asset_class=cls,
                strategic_weight=r6(strategic),
                adjustment=adj,
                target_weight=r6(strategic + adj),
                score=r6(score),
            )
        )
    cash_adj = round(-sum(a.adjustment for a in out), 6)
    rules = RulePath().add(
        "wealth_manager.cash",
        "cash balances the adjustments (targets sum to 100%)",
        f"{-cash_adj:+.4f}",
        f"{cash_adj:+.4f}",
    )
    stance = (
        "OVERWEIGHT"
        if cash_adj >= config.neutral_band
        else "UNDERWEIGHT"
        if cash_adj <= -config.neutral_band
        else "NEUTRAL"
    )
    out.append(
        make_item(
            AllocationAdjustment,
            persona=PERSONA,
            as_of=day,
            subject="cash",
            action=stance,
            text=f"Cash: {signed_pct(cash_adj, 1)} to {pct(cash + cash_adj, 1)} (strategic {pct(cash, 1)}), "
            "balancing the adjustments above.",
            rules=rules,
            data_refs=[f"recommendation:{a.recommendation_id}" for a in out],
            asset_class="cash",
            strategic_weight=r6(cash),
            adjustment=cash_adj,
            target_weight=r6(cash + cash_adj),
            score=None,
        )
    )
    return out


def _key_signals(
    day: date, signals: pd.DataFrame, inputs: PersonaInputs, config: WealthManagerConfig
) -> list[KeySignal]:
    candidates = signals[(signals["direction"] != "FLAT") & (signals["confidence"] >= config.min_confidence)]
    scored = sorted(
        ((round(conviction_score(s), 9), str(s["symbol"]), s) for _, s in candidates.iterrows()),
        key=lambda x: (-x[0], x[1]),
    )[: config.key_signals]
    out = []
    for rank, (score, symbol, sig) in enumerate(scored, start=1):
        rules = (
            RulePath()
            .add(
                "wealth_manager.min_confidence",
                f"direction not FLAT and confidence >= {config.min_confidence}",
                float(sig["confidence"]),
                "pass",
            )
            .add(
                "wealth_manager.key_signals", f"top {config.key_signals} by conviction", f"{score:.4f}", f"rank {rank}"
            )
        )
        lean = "higher" if sig["direction"] == "UP" else "lower"
        text = (
            f"{inputs.name(symbol)}: the model leans {lean} over {config.horizon} trading days with a probability of "
            f"{pct(float(sig['probability']))} (expected move {signed_pct(math.expm1(float(sig['expected_move'])))})."
        )
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
                signals=signals[signals["symbol"] == symbol],
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
        used: pd.DataFrame | None = None,
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

    vix_rows = feats.dropna(subset=["vix_pct_1y"]) if not feats.empty else feats
    if not vix_rows.empty:
        vix_pct, vix = num(vix_rows["vix_pct_1y"].iloc[-1]), num(vix_rows["vix"].iloc[-1])
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
                refs=feature_refs([str(vix_rows["symbol"].iloc[-1])], vix_rows.tail(1)),
            )
    risk_off = signals[signals["regime"].isin(config.risk_off_regimes)]
    for regime in sorted(set(risk_off["regime"])):
        rows = risk_off[risk_off["regime"] == regime]
        names = ", ".join(inputs.name(s) for s in sorted(rows["symbol"]))
        rules = RulePath().add(
            "wealth_manager.risk_off_regimes", f"regime in {list(config.risk_off_regimes)}", regime, "fire"
        )
        add(
            f"regime:{regime}",
            "regime",
            "HIGH" if regime == "CRISIS" else "MEDIUM",
            "REDUCE_RISK",
            f"{regime.replace('_', ' ').capitalize()} regime in {names}.",
            rules,
            used=rows,
        )
    cut = signals[signals["drawdown_state"].isin(config.reduce_drawdown_states)]
    if not cut.empty:
        names = ", ".join(
            f"{inputs.name(s)} ({st.lower()})" for s, st in zip(cut["symbol"], cut["drawdown_state"], strict=True)
        )
        rules = RulePath().add(
            "wealth_manager.reduce_drawdown_states", f"state in {list(config.reduce_drawdown_states)}", len(cut), "fire"
        )
        add(
            "drawdown",
            "drawdown",
            "MEDIUM",
            "REDUCE_RISK",
            f"The strategy's drawdown guard has cut risk on {names}.",
            rules,
            used=cut,
        )
    for _, feat in feats.iterrows():
        z52 = num(feat["cot_spec_z52"])
        if z52 is None or abs(z52) < config.cot_extreme_z:
            continue
        symbol = str(feat["symbol"])
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
    var_hot = signals[signals["var_99"] >= config.high_var_99]
    for _, sig in var_hot.iterrows():
        symbol = str(sig["symbol"])
        rules = RulePath().add(
            "wealth_manager.high_var_99", f"var_99 >= {config.high_var_99}", float(sig["var_99"]), "fire"
        )
        add(
            f"var:{symbol}",
            "value at risk",
            "MEDIUM",
            "MONITOR",
            f"{inputs.name(symbol)}: one-day 99% value at risk of the model position is {pct(float(sig['var_99']), 1)} "
            "of capital.",
            rules,
            used=signals[signals["symbol"] == symbol],
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
            labels=[a.asset_class for a in allocations],
            series={"adjustment_pp": [round(100 * a.adjustment, 4) for a in allocations]},
        )
    ]
    prices = inputs.prices_until(day, lookback_days=config.chart_days)
    symbols = [s for s in config.chart_symbols if s in set(prices["symbol"])]
    if symbols:
        wide = prices[prices["symbol"].isin(symbols)].pivot_table(
            index="trade_date", columns="symbol", values="close", aggfunc="last"
        )
        weekly = wide.sort_index().ffill().resample("W-FRI").last().dropna(how="all")
        base = weekly.bfill().iloc[0]
        norm = (weekly / base * 100).round(4)
        charts.append(
            ChartSpec(
                chart_id="prices",
                title=f"Prices over the past {config.chart_days} days (start = 100)",
                kind="line",
                caption="Weekly closes of the key markets, rebased to 100 at the start of the window.",
                refs=[regime.recommendation_id],
                labels=[d.date().isoformat() for d in norm.index],
                series={s: [None if pd.isna(v) else float(v) for v in norm[s]] for s in symbols},
            )
        )
    per_symbol = signals.drop_duplicates("symbol").sort_values("symbol")
    if not per_symbol.empty:
        charts.append(
            ChartSpec(
                chart_id="probabilities",
                title=f"Model probability of a rise minus a fall, next {config.horizon} trading days",
                kind="bar",
                caption="Positive bars lean up, negative lean down; the key signals are listed above.",
                refs=[k.recommendation_id for k in key],
                labels=list(per_symbol["symbol"]),
                series={
                    "prob_up_minus_down": [
                        round(float(u - d), 4)
                        for u, d in zip(per_symbol["prob_up"], per_symbol["prob_down"], strict=True)
                    ]
                },
            )
        )
    return charts


def build_wealth_manager(
    inputs: PersonaInputs, day: date, config: WealthManagerConfig | None = None
) -> WealthManagerOutput:
    """The report's content for the week ending `day` (signals of `day`, the week's prices in the charts)."""
    config = config or WealthManagerConfig()
    signals = inputs.signals_on(day, config.horizon)
    feats = inputs.features_asof(day, config.max_feature_age_days)
    regime = _regime(day, signals, inputs, config)
    allocations = _allocations(day, signals, regime.regime, inputs, config)
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
