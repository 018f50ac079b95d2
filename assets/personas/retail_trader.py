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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from assets.personas.common import (
    RulePath,
    feature_refs_by_symbol,
    guard_reason,
    lean,
    make_item,
    more_likely_than_not,
    num,
    odds,
    pct,
    r6,
    refs_of,
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


def _levels(
    sig: Mapping[str, Any], close: float, vol: float, config: RetailTraderConfig
) -> tuple[float, float, float, float]:
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


@dataclass
class _Draft:
    """What one instrument's call is decided from, and the rules checked so far (in the order they ran)."""

    symbol: str
    day: date
    name: str
    config: RetailTraderConfig
    sig: Mapping[str, Any] | None  # the signal row (a record)
    vol: float | None  # rvol_20d of the as-of feature row
    track: TrackRecord | None
    close: float | None
    refs: list[str]
    rules: RulePath = field(default_factory=RulePath)
    probability: float | None = None
    levels: tuple[float, float, float, float] | None = None  # stop, target, their log distances

    @property
    def audience(self) -> str:
        return self.config.audience

    @property
    def max_pct(self) -> float:
        return self.config.max_position_pct[self.audience]

    def odds(self) -> str:
        """The signal's three probabilities in words."""
        assert self.sig is not None
        sig = self.sig
        return odds(str(sig["direction"]), float(sig["prob_up"]), float(sig["prob_flat"]), float(sig["prob_down"]))

    def notes(self) -> list[str]:
        notes = [
            f"at most {pct(self.max_pct)} of your account in this position",
            "always place the stop when you enter",
        ]
        if not self.config.allow_short[self.audience]:
            notes.append("no short selling at this level")
        return notes


@dataclass(frozen=True)
class _Refusal:
    """A gate's verdict that there is no trade today: the light and the reason in the client's words."""

    light: str
    reason: str


def _gate_signal_present(d: _Draft) -> _Refusal | None:
    present = d.sig is not None
    d.rules.add(
        "retail_trader.signal_present",
        f"a D+{d.config.horizon} signal for {d.symbol}",
        present,
        "pass" if present else "fail -> YELLOW, NO_TRADE",
    )
    if d.sig is None:
        return _Refusal("YELLOW", "there is no signal today")
    d.probability = float(d.sig["probability"])
    return None


def _gate_not_blocked(d: _Draft) -> _Refusal | None:
    assert d.sig is not None
    config = d.config
    regime, dd_state = str(d.sig["regime"]), str(d.sig["drawdown_state"])
    blocked = regime in config.blocked_regimes or dd_state in config.blocked_drawdown_states
    d.rules.add(
        "retail_trader.blocked_regimes",
        f"regime not in {list(config.blocked_regimes)}"
        f" and drawdown state not in {list(config.blocked_drawdown_states)}",
        {"regime": regime, "drawdown_state": dd_state},
        "fail -> YELLOW, NO_TRADE" if blocked else "pass",
    )
    if not blocked:
        return None
    why = [f"the model places this market in a {regime_words(regime)} regime"] * (regime in config.blocked_regimes)
    if dd_state in config.blocked_drawdown_states:
        why.append(f"the strategy's drawdown guard is in force on {guard_reason('this market', dd_state, regime)}")
    return _Refusal("YELLOW", " and ".join(why))


def _gate_direction(d: _Draft) -> _Refusal | None:
    assert d.sig is not None
    direction = str(d.sig["direction"])
    d.rules.add(
        "retail_trader.direction",
        "direction is UP or DOWN",
        direction,
        "fail -> YELLOW, NO_TRADE" if direction == "FLAT" else "pass",
    )
    if direction == "FLAT":
        return _Refusal("YELLOW", f"the signal expects no clear move over {d.config.horizon} trading days")
    return None


def _gate_strong(d: _Draft) -> _Refusal | None:
    assert d.sig is not None and d.probability is not None
    config = d.config
    confidence = float(d.sig["confidence"])
    strong = confidence >= config.min_confidence and d.probability >= config.min_probability
    d.rules.add(
        "retail_trader.min_confidence",
        f"confidence >= {config.min_confidence} and probability >= {config.min_probability}",
        {"confidence": confidence, "probability": d.probability},
        "pass" if strong else "fail -> YELLOW, NO_TRADE",
    )
    return None if strong else _Refusal("YELLOW", "the signal is too weak to act on")


def _gate_proven(d: _Draft) -> _Refusal | None:
    config, track = d.config, d.track
    proven = (
        track is not None
        and track.n >= config.min_track_n
        and track.balanced_accuracy is not None
        and track.balanced_accuracy > config.min_balanced_accuracy
    )
    d.rules.add(
        "retail_trader.min_track_n",
        f"out-of-sample n >= {config.min_track_n} and balanced accuracy > {config.min_balanced_accuracy}",
        {"n": track.n if track else None, "balanced_accuracy": track.balanced_accuracy if track else None},
        "pass" if proven else "fail -> YELLOW, NO_TRADE",
    )
    return None if proven else _Refusal("YELLOW", "this signal has no proven out-of-sample record yet")


def _gate_short_allowed(d: _Draft) -> _Refusal | None:
    """A DOWN call for an audience that may not sell short is a red light: do not buy."""
    assert d.sig is not None and d.probability is not None
    if str(d.sig["direction"]) != "DOWN" or d.config.allow_short[d.audience]:
        return None
    d.rules.add(
        "retail_trader.allow_short",
        f"short selling allowed for {d.audience}",
        False,
        "fail -> RED, NO_TRADE (avoid buying)",
    )
    horizon = d.config.horizon
    view = (
        f"the signal sees a fall as more likely than not over the next {horizon} trading days"
        if more_likely_than_not(d.probability)
        else f"the signal's probabilities do not favour buying over the next {horizon} trading days"
    )
    return _Refusal("RED", f"{view} ({d.odds()})")


def _gate_size(d: _Draft) -> _Refusal | None:
    assert d.sig is not None
    size = abs(float(d.sig["size"]))
    d.rules.add("signals.size", "the signal's Kelly size > 0", size, "pass" if size > 0 else "fail -> YELLOW, NO_TRADE")
    return None if size > 0 else _Refusal("YELLOW", "the position sizing finds no edge worth the risk")


def _gate_price(d: _Draft) -> _Refusal | None:
    if d.close is not None and d.close > 0:
        return None
    d.rules.add("retail_trader.stop_required", "a price to place the stop from", d.close, "fail -> YELLOW, NO_TRADE")
    return _Refusal("YELLOW", "no current price to set a stop from")


def _gate_safe_stop(d: _Draft) -> _Refusal | None:
    """The stop from the move interval (at least the noise distance) must be close enough to be safe."""
    assert d.sig is not None and d.close is not None
    config = d.config
    vol = d.vol if d.vol is not None and d.vol > 0 else config.default_vol
    d.levels = _levels(d.sig, d.close, vol, config)
    stop_dist = d.levels[2]
    safe = math.expm1(stop_dist) <= config.max_stop_pct
    d.rules.add(
        "retail_trader.max_stop_pct",
        f"stop distance <= {config.max_stop_pct}",
        math.expm1(stop_dist),
        "pass" if safe else "fail -> YELLOW, NO_TRADE",
    )
    return None if safe else _Refusal("YELLOW", "the price swings too much to set a safe stop")


def _gate_reward_risk(d: _Draft) -> _Refusal | None:
    assert d.levels is not None
    _, _, stop_dist, target_dist = d.levels
    config = d.config
    reward_risk = target_dist / stop_dist if stop_dist > 0 else 0.0
    worth = reward_risk >= config.min_reward_risk
    d.rules.add(
        "retail_trader.min_reward_risk",
        f"target distance / stop distance >= {config.min_reward_risk}",
        reward_risk,
        "pass" if worth else "fail -> YELLOW, NO_TRADE",
    )
    return None if worth else _Refusal("YELLOW", "the possible gain is small against the risk")


# Checked in this order; the first refusal decides the call, and the rule path records every gate that ran.
GATES: tuple[Callable[[_Draft], _Refusal | None], ...] = (
    _gate_signal_present,
    _gate_not_blocked,
    _gate_direction,
    _gate_strong,
    _gate_proven,
    _gate_short_allowed,
    _gate_size,
    _gate_price,
    _gate_safe_stop,
    _gate_reward_risk,
)


def _item(d: _Draft, **fields: Any) -> RetailCall:
    return make_item(
        RetailCall,
        persona=PERSONA,
        as_of=d.day,
        subject=d.symbol,
        symbol=d.symbol,
        rules=d.rules,
        signal_row=d.sig,  # None: no signal row, an empty provenance
        data_refs=d.refs,
        horizon=d.config.horizon,
        close=d.close,
        probability=d.probability,
        track_record=d.track,
        **fields,
    )


def _no_trade(d: _Draft, refusal: _Refusal) -> RetailCall:
    if refusal.light == "RED":
        message = f"{d.name}: red, {refusal.reason}; do not open a new position today."
    else:
        message = f"{d.name}: yellow, {refusal.reason}; no trade today."
    with_odds = d.probability is not None
    return _item(
        d,
        action="NO_TRADE",
        text=message,
        light=refusal.light,
        stop=None,
        target=None,
        probability_text=(
            _odds_text(d.config.horizon, d.odds()) if with_odds else "No calibrated probability is available today."
        ),
        guardrails=Guardrails(
            audience=d.audience, max_position_pct=d.max_pct, suggested_position_pct=0.0, notes=d.notes()
        ),
    )


def _odds_text(horizon: int, chances: str) -> str:
    """The probabilities a call states, named for what they are: the signal's (the model's moved to the instrument's
    base rate), the ones its direction was decided on."""
    return (
        f"The signal's probabilities over the next {horizon} trading days (the model's estimate adjusted to this "
        f"market's own history of rises and falls, the ones the call was made on): {chances}; an estimate that can "
        "be wrong."
    )


def _trade(d: _Draft) -> RetailCall:
    """Every gate passed: buy (or sell short where allowed) with at most the audience's cap, a stop and a target."""
    assert d.sig is not None and d.probability is not None and d.levels is not None
    config, max_pct = d.config, d.max_pct
    size = abs(float(d.sig["size"]))
    suggested = round(min(size, max_pct), 4)
    d.rules.add("retail_trader.max_position_pct", f"size <= {max_pct} ({d.audience})", size, f"size {suggested}")
    direction = str(d.sig["direction"])
    light, action = ("GREEN", "BUY") if direction == "UP" else ("RED", "SELL")
    verb = "buy" if action == "BUY" else "sell short"
    stop, target = d.levels[0], d.levels[1]
    message = (
        f"{d.name}: {light.lower()}, the signal {lean(direction, d.probability)} over the next {config.horizon} "
        f"trading days ({d.odds()}); if you {verb}, use at "
        f"most {pct(suggested, 1)} of your account, place a stop at {price_text(stop)} and consider taking profit "
        f"near {price_text(target)}."
    )
    return _item(
        d,
        action=action,
        text=message,
        light=light,
        stop=round(stop, 6),
        target=round(target, 6),
        probability_text=_odds_text(config.horizon, d.odds()),
        guardrails=Guardrails(
            audience=d.audience, max_position_pct=max_pct, suggested_position_pct=suggested, notes=d.notes()
        ),
    )


@dataclass(frozen=True)
class _Feature:
    """A symbol's as-of feature row, as far as the trader reads it."""

    close: float | None
    vol: float | None  # rvol_20d
    refs: list[str]  # `feature_refs([symbol], feats)`


def _features(feats: pd.DataFrame) -> dict[str, _Feature]:
    """symbol -> its as-of feature row, from the columns once (not a Series per row and a scan per symbol)."""
    if feats.empty:
        return {}
    refs = feature_refs_by_symbol(feats)
    rows = zip(feats["symbol"].tolist(), feats["close"].tolist(), feats["rvol_20d"].tolist(), strict=True)
    return {str(s): _Feature(num(c), num(v), refs_of(refs, [s])) for s, c, v in rows}


def _track(inputs: PersonaInputs, symbol: str, horizon: int) -> TrackRecord | None:
    """The symbol's track record, built once for every day (it does not depend on the day)."""
    return inputs.memo(
        ("retail_trader.track_record", symbol, horizon),
        (inputs.track_record,),
        lambda: _track_record(inputs, symbol, horizon),
    )


def _call(
    symbol: str,
    day: date,
    inputs: PersonaInputs,
    sig: Mapping[str, Any] | None,
    feat: _Feature | None,
    config: RetailTraderConfig,
) -> RetailCall:
    """One instrument's call: the gates in order, then a trade or the first gate's refusal."""
    draft = _Draft(
        symbol=symbol,
        day=day,
        name=inputs.name(symbol),
        config=config,
        sig=sig,
        vol=feat.vol if feat is not None else None,
        track=_track(inputs, symbol, config.horizon),
        close=r6(feat.close) if feat is not None else None,
        refs=feat.refs if feat is not None else [],
    )
    for gate in GATES:
        refusal = gate(draft)
        if refusal is not None:
            return _no_trade(draft, refusal)
    return _trade(draft)


def build_retail_trader(
    inputs: PersonaInputs, day: date, config: RetailTraderConfig | None = None
) -> RetailTraderOutput:
    """One call per universe instrument (a missing signal is a yellow light, not a missing row)."""
    config = config or RetailTraderConfig()
    signals = inputs.signals_by_symbol(day, config.horizon)
    features = _features(inputs.features_asof(day, config.max_feature_age_days))
    symbols = sorted({i.symbol for i in inputs.universe.instruments} | set(signals))
    calls = [_call(s, day, inputs, signals.get(s), features.get(s), config) for s in symbols]
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
