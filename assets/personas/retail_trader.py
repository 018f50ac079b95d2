"""Retail trader: a traffic light per instrument with a message, an action, a stop and a target, and guardrails.

Honesty first: the confidence shown is the signal's calibrated probability and the only performance shown is the
signal's own out-of-sample record with its sample size; nothing promises a win rate. A FLAT, weak or unproven
signal, a risk-off state, or a stop too wide to be safe gives a YELLOW light and no trade. Beginners are never
offered more than 5% of the account in one position, every trade has a stop, and beginners are not offered short
sales (a confident DOWN signal is a RED light with no trade: do not buy).

Stops and targets come from the signal's 80% move interval, with the stop at least `stop_vol_multiple` horizon
volatilities away so that ordinary noise does not trigger it.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pyarrow as pa

from assets.personas.common import (
    RulePath,
    feature_refs,
    guard_words,
    lean,
    make_item,
    more_likely_than_not,
    num,
    odds,
    pct,
    r6,
    regime_words,
)
from assets.personas.config import RetailTraderConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.models import Guardrails, RetailCall, RetailTraderOutput, TrackRecord
from assets.personas.paper_record import paper_track_record
from assets.personas.tables import output_rows

PERSONA = "retail_trader"
DISCLAIMER = (
    "Educational information, not investment advice. Probabilities are model estimates calibrated on past data; "
    "they can be wrong, and past results do not predict future ones. Only trade money you can afford to lose, "
    "and always use a stop."
)


def prob_text(p: float | None) -> str:
    """A probability as a person reads it, never rounded up to certainty."""
    if p is None:
        return "n/a"
    if p >= 0.995:
        return "over 99%"
    if p <= 0.005:
        return "under 1%"
    return pct(p)


def price_text(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:,.4f}"


def _track_record(inputs: PersonaInputs, symbol: str, horizon: int) -> TrackRecord | None:
    row = inputs.track_record_for(symbol, horizon)
    if row is None:
        return None
    n = int(num(row["n"]) or 0)
    hit, ba = num(row["hit_rate"]), num(row["balanced_accuracy"])
    period = ""
    start, end = row.get("start"), row.get("end")
    if isinstance(start, str) and isinstance(end, str) and start and end:
        period = f" from {start} to {end}"
    text = (
        f"Out of sample{period}, this {horizon}-day signal's direction was right on {prob_text(hit)} of {n:,} calls "
        f"(balanced accuracy {prob_text(ba)}, where 50% is chance); past results do not predict future ones."
    )
    return TrackRecord(
        horizon=horizon,
        n=n,
        hit_rate=hit,
        balanced_accuracy=ba,
        brier=num(row["brier"]),
        ic=num(row["ic"]),
        text=text,
    )


def _levels(sig: pd.Series, close: float, vol: float, config: RetailTraderConfig) -> tuple[float, float, float, float]:
    """(stop, target, stop distance, target distance) as prices and log distances, for the signal's direction."""
    direction = 1 if sig["direction"] == "UP" else -1
    low, high = float(sig["move_low"]), float(sig["move_high"])
    noise = config.stop_vol_multiple * vol * math.sqrt(config.horizon / 252)
    adverse = max(0.0, -low) if direction == 1 else max(0.0, high)
    favourable = max(0.0, high) if direction == 1 else max(0.0, -low)
    stop_dist = max(adverse, noise)
    stop = close * math.exp(-direction * stop_dist)
    target = close * math.exp(direction * favourable)
    return stop, target, stop_dist, favourable


def _call(
    symbol: str,
    day: date,
    inputs: PersonaInputs,
    sig_rows: pd.DataFrame,
    feat: pd.Series | None,
    feats: pd.DataFrame,
    config: RetailTraderConfig,
) -> RetailCall:
    audience = config.audience
    max_pct = config.max_position_pct[audience]
    name = inputs.name(symbol)
    rules = RulePath()
    sig = None if sig_rows.empty else sig_rows.iloc[0]
    track = _track_record(inputs, symbol, config.horizon)
    close = r6(num(feat["close"])) if feat is not None else None
    notes = [f"at most {pct(max_pct)} of your account in this position", "always place the stop when you enter"]
    if not config.allow_short[audience]:
        notes.append("no short selling at this level")
    refs = feature_refs([symbol], feats)

    def odds_text() -> str:
        assert sig is not None
        chances = odds(str(sig["direction"]), float(sig["prob_up"]), float(sig["prob_flat"]), float(sig["prob_down"]))
        return (
            f"The signal's probabilities over the next {config.horizon} trading days (the model's estimate adjusted "
            f"to this market's own history of rises and falls, the ones the call was made on): {chances}; an "
            "estimate that can be wrong."
        )

    def no_trade(light: str, reason: str, probability: float | None = None) -> RetailCall:
        ptxt = odds_text() if probability is not None else "No calibrated probability is available today."
        if light == "RED":
            message = f"{name}: red, {reason}; do not open a new position today."
        else:
            message = f"{name}: yellow, {reason}; no trade today."
        return make_item(
            RetailCall,
            persona=PERSONA,
            as_of=day,
            subject=symbol,
            symbol=symbol,
            action="NO_TRADE",
            text=message,
            rules=rules,
            signals=sig_rows,
            data_refs=refs,
            light=light,
            horizon=config.horizon,
            close=close,
            stop=None,
            target=None,
            probability=probability,
            probability_text=ptxt,
            track_record=track,
            guardrails=Guardrails(audience=audience, max_position_pct=max_pct, suggested_position_pct=0.0, notes=notes),
        )

    present = sig is not None
    rules.add(
        "retail_trader.signal_present",
        f"a D+{config.horizon} signal for {symbol}",
        present,
        "pass" if present else "fail -> YELLOW, NO_TRADE",
    )
    if sig is None:
        return no_trade("YELLOW", "there is no signal today")
    probability = float(sig["probability"])
    regime, dd_state = str(sig["regime"]), str(sig["drawdown_state"])
    blocked = regime in config.blocked_regimes or dd_state in config.blocked_drawdown_states
    rules.add(
        "retail_trader.blocked_regimes",
        f"regime not in {list(config.blocked_regimes)}"
        f" and drawdown state not in {list(config.blocked_drawdown_states)}",
        {"regime": regime, "drawdown_state": dd_state},
        "fail -> YELLOW, NO_TRADE" if blocked else "pass",
    )
    if blocked:
        why = [f"the model places this market in a {regime_words(regime)} regime"] * (regime in config.blocked_regimes)
        if dd_state in config.blocked_drawdown_states:
            why.append(f"the strategy's drawdown guard is in force ({guard_words(dd_state)})")
        return no_trade("YELLOW", " and ".join(why), probability)
    direction = str(sig["direction"])
    rules.add(
        "retail_trader.direction",
        "direction is UP or DOWN",
        direction,
        "fail -> YELLOW, NO_TRADE" if direction == "FLAT" else "pass",
    )
    if direction == "FLAT":
        return no_trade("YELLOW", f"the signal expects no clear move over {config.horizon} trading days", probability)
    confidence = float(sig["confidence"])
    strong = confidence >= config.min_confidence and probability >= config.min_probability
    rules.add(
        "retail_trader.min_confidence",
        f"confidence >= {config.min_confidence} and probability >= {config.min_probability}",
        {"confidence": confidence, "probability": probability},
        "pass" if strong else "fail -> YELLOW, NO_TRADE",
    )
    if not strong:
        return no_trade("YELLOW", "the signal is too weak to act on", probability)
    proven = (
        track is not None
        and track.n >= config.min_track_n
        and track.balanced_accuracy is not None
        and track.balanced_accuracy > config.min_balanced_accuracy
    )
    rules.add(
        "retail_trader.min_track_n",
        f"out-of-sample n >= {config.min_track_n} and balanced accuracy > {config.min_balanced_accuracy}",
        {"n": track.n if track else None, "balanced_accuracy": track.balanced_accuracy if track else None},
        "pass" if proven else "fail -> YELLOW, NO_TRADE",
    )
    if not proven:
        return no_trade("YELLOW", "this signal has no proven out-of-sample record yet", probability)
    if direction == "DOWN" and not config.allow_short[audience]:
        rules.add(
            "retail_trader.allow_short",
            f"short selling allowed for {audience}",
            False,
            "fail -> RED, NO_TRADE (avoid buying)",
        )
        view = (
            f"the signal sees a fall as more likely than not over the next {config.horizon} trading days"
            if more_likely_than_not(probability)
            else f"the signal's probabilities do not favour buying over the next {config.horizon} trading days"
        )
        chances = odds(direction, float(sig["prob_up"]), float(sig["prob_flat"]), float(sig["prob_down"]))
        return no_trade("RED", f"{view} ({chances})", probability)
    size = abs(float(sig["size"]))
    rules.add("signals.size", "the signal's Kelly size > 0", size, "pass" if size > 0 else "fail -> YELLOW, NO_TRADE")
    if size <= 0:
        return no_trade("YELLOW", "the position sizing finds no edge worth the risk", probability)
    if close is None or close <= 0:
        rules.add("retail_trader.stop_required", "a price to place the stop from", close, "fail -> YELLOW, NO_TRADE")
        return no_trade("YELLOW", "no current price to set a stop from", probability)
    vol = num(feat["rvol_20d"]) if feat is not None else None
    vol = vol if vol is not None and vol > 0 else config.default_vol
    stop, target, stop_dist, target_dist = _levels(sig, close, vol, config)
    safe = math.expm1(stop_dist) <= config.max_stop_pct
    rules.add(
        "retail_trader.max_stop_pct",
        f"stop distance <= {config.max_stop_pct}",
        math.expm1(stop_dist),
        "pass" if safe else "fail -> YELLOW, NO_TRADE",
    )
    if not safe:
        return no_trade("YELLOW", "the price swings too much to set a safe stop", probability)
    reward_risk = target_dist / stop_dist if stop_dist > 0 else 0.0
    worth = reward_risk >= config.min_reward_risk
    rules.add(
        "retail_trader.min_reward_risk",
        f"target distance / stop distance >= {config.min_reward_risk}",
        reward_risk,
        "pass" if worth else "fail -> YELLOW, NO_TRADE",
    )
    if not worth:
        return no_trade("YELLOW", "the possible gain is small against the risk", probability)
    suggested = round(min(size, max_pct), 4)
    rules.add("retail_trader.max_position_pct", f"size <= {max_pct} ({audience})", size, f"size {suggested}")
    light, action = ("GREEN", "BUY") if direction == "UP" else ("RED", "SELL")
    verb = "buy" if action == "BUY" else "sell short"
    chances = odds(direction, float(sig["prob_up"]), float(sig["prob_flat"]), float(sig["prob_down"]))
    message = (
        f"{name}: {light.lower()}, the signal {lean(direction, probability)} over the next {config.horizon} trading "
        f"days ({chances}); if you {verb}, use at "
        f"most {pct(suggested, 1)} of your account, place a stop at {price_text(stop)} and consider taking profit "
        f"near {price_text(target)}."
    )
    return make_item(
        RetailCall,
        persona=PERSONA,
        as_of=day,
        subject=symbol,
        symbol=symbol,
        action=action,
        text=message,
        rules=rules,
        signals=sig_rows,
        data_refs=refs,
        light=light,
        horizon=config.horizon,
        close=close,
        stop=round(stop, 6),
        target=round(target, 6),
        probability=probability,
        probability_text=odds_text(),
        track_record=track,
        guardrails=Guardrails(
            audience=audience, max_position_pct=max_pct, suggested_position_pct=suggested, notes=notes
        ),
    )


def build_retail_trader(
    inputs: PersonaInputs, day: date, config: RetailTraderConfig | None = None
) -> RetailTraderOutput:
    """One call per universe instrument (a missing signal is a yellow light, not a missing row)."""
    config = config or RetailTraderConfig()
    signals = inputs.signals_on(day, config.horizon)
    feats = inputs.features_asof(day, config.max_feature_age_days)
    feat_by = {str(r["symbol"]): r for _, r in feats.iterrows()}
    symbols = sorted({i.symbol for i in inputs.universe.instruments} | set(signals["symbol"]))
    calls = [_call(s, day, inputs, signals[signals["symbol"] == s], feat_by.get(s), feats, config) for s in symbols]
    return RetailTraderOutput(
        as_of=day,
        horizon=config.horizon,
        audience=config.audience,
        calls=calls,
        disclaimer=DISCLAIMER,
        paper_track_record=paper_track_record(inputs, day),
    )


def to_rows(output: RetailTraderOutput) -> pa.Table:
    return output_rows(output)
