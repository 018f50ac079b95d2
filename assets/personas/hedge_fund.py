"""Hedge fund: the raw signals with their probabilities, non-consensus flags, COT extremes and a conviction ranking.

Three views of each instrument are compared at the fund's horizon: the model's (the signal's direction, when it
is confident), the trend's (sign of the 12-month return) and the crowd's (where speculators lean against their own
year, sign of `cot_spec_z52` beyond a dead band). The model against the trend and/or the crowd is non-consensus.
Conviction = confidence x |ensemble score| x agreement across horizons, in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from assets.personas.common import RulePath, feature_refs, lean, make_item, num, odds, r6, signed_pct
from assets.personas.config import HedgeFundConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.models import ConvictionRank, CotExtreme, HedgeFundOutput, NonConsensus, RawSignal
from assets.personas.paper_record import paper_track_record
from assets.personas.tables import output_rows

PERSONA = "hedge_fund"
_SIGN = {"UP": 1, "DOWN": -1, "FLAT": 0}
# the numbers a raw signal publishes (rounded), in the order of its fields
_RAW_FIELDS = (
    "probability",
    "prob_up",
    "prob_flat",
    "prob_down",
    "confidence",
    "expected_move",
    "move_low",
    "move_high",
    "ensemble_score",
    "confluence",
    "size",
    "kelly_fraction",
    "regime_probability",
)
Signal = dict[str, Any]
"""One signal row as plain Python values (`PersonaInputs.signal_records`)."""


@dataclass(frozen=True)
class _Features:
    """A symbol's as-of feature values the fund reads."""

    momentum: float | None
    z52: float | None
    cot_index: float | None
    cot_spec_net_share: float | None


def _features_by_symbol(feat_frame: pd.DataFrame, momentum_column: str) -> dict[str, _Features]:
    """The as-of rows (one per symbol, in the frame's order) as values read once per column, not per row."""
    columns = [feat_frame[c].tolist() for c in (momentum_column, "cot_spec_z52", "cot_index", "cot_spec_net_share")]
    out: dict[str, _Features] = {}
    for symbol, *values in zip(feat_frame["symbol"].tolist(), *columns, strict=True):
        out[str(symbol)] = _Features(*(num(v) for v in values))
    return out


def _sign(value: float | None, dead_band: float) -> int:
    if value is None or abs(value) < dead_band:
        return 0
    return 1 if value > 0 else -1


def _view(sig: Mapping[str, Any]) -> str:
    """The signal's call in words with its probabilities against the rest; a direction only when more likely than not.

    The probabilities are the signal's (the model's moved to the instrument's own base rate), the ones its
    direction was decided on; the model's own are the signal's `model_prob_*`.
    """
    direction = str(sig["direction"])
    chances = odds(direction, float(sig["prob_up"]), float(sig["prob_flat"]), float(sig["prob_down"]))
    return f"{lean(direction, float(sig['probability']))} ({chances})"


def _raw_signals(day: date, signals: list[Signal]) -> list[RawSignal]:
    """One item per signal row (a day holds one row per symbol and horizon), whose provenance is that row alone."""
    out = []
    for s in signals:
        symbol, h = str(s["symbol"]), int(s["horizon"])
        rules = RulePath().add("hedge_fund.raw", "published as produced by the signals stage", s["direction"], "as is")
        text = (
            f"{symbol}, {h} trading day{'s' if h > 1 else ''}: the signal {_view(s)}; rise "
            f"{float(s['prob_up']):.2f} / flat {float(s['prob_flat']):.2f} / fall {float(s['prob_down']):.2f}; "
            f"expected move {signed_pct(math.expm1(float(s['expected_move'])), 2)} "
            f"(range {signed_pct(math.expm1(float(s['move_low'])), 2)} to "
            f"{signed_pct(math.expm1(float(s['move_high'])), 2)})"
        )
        out.append(
            make_item(
                RawSignal,
                persona=PERSONA,
                as_of=day,
                subject=f"{symbol}|D+{h}",
                symbol=symbol,
                action=str(s["direction"]),
                text=text,
                rules=rules,
                signal_row=s,
                horizon=h,
                **{k: r6(float(s[k])) for k in _RAW_FIELDS},
                regime=str(s["regime"]),
            )
        )
    return out


def _model_view(sig: Mapping[str, Any], config: HedgeFundConfig) -> int:
    return _SIGN[str(sig["direction"])] if float(sig["confidence"]) >= config.min_confidence else 0


def _non_consensus(
    day: date, primary: list[Signal], feats: dict[str, _Features], feat_frame: pd.DataFrame, config: HedgeFundConfig
) -> list[NonConsensus]:
    """The primary signals whose model view opposes the trend and/or the crowd (each cites its own row only)."""
    out = []
    for sig in primary:
        symbol = str(sig["symbol"])
        feat = feats.get(symbol)
        model = _model_view(sig, config)
        mom_value = feat.momentum if feat is not None else None
        z52 = feat.z52 if feat is not None else None
        momentum = _sign(mom_value, config.min_abs_momentum)
        crowd = _sign(z52, config.positioning_z)
        against_mom = model != 0 and momentum != 0 and model != momentum
        against_crowd = model != 0 and crowd != 0 and model != crowd
        if not (against_mom or against_crowd):
            continue
        rules = (
            RulePath()
            .add(
                "hedge_fund.min_confidence",
                f"confidence >= {config.min_confidence}",
                float(sig["confidence"]),
                f"model view {model:+d}",
            )
            .add(
                "hedge_fund.min_abs_momentum",
                f"|{config.momentum_column}| >= {config.min_abs_momentum}",
                mom_value,
                f"trend view {momentum:+d}",
            )
            .add("hedge_fund.positioning_z", f"|cot_spec_z52| >= {config.positioning_z}", z52, f"crowd view {crowd:+d}")
        )
        flag = (
            "AGAINST_BOTH"
            if against_mom and against_crowd
            else "AGAINST_MOMENTUM"
            if against_mom
            else "AGAINST_POSITIONING"
        )
        rules.add("hedge_fund.non_consensus", "model opposes trend and/or crowd", f"{model}/{momentum}/{crowd}", flag)
        text = f"{symbol}: the signal {_view(sig)}, against " + (
            "the trend and the crowd"
            if flag == "AGAINST_BOTH"
            else "the 12-month trend"
            if flag == "AGAINST_MOMENTUM"
            else "speculators' positioning"
        )
        out.append(
            make_item(
                NonConsensus,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=flag,
                text=text,
                rules=rules,
                signal_row=sig,
                data_refs=feature_refs([symbol], feat_frame),
                horizon=int(sig["horizon"]),
                model_view=model,
                momentum_view=momentum,
                positioning_view=crowd,
                probability=r6(float(sig["probability"])),
                ret_250d=r6(mom_value),
                cot_spec_z52=r6(z52),
            )
        )
    return out


def _cot_extremes(
    day: date,
    feats: dict[str, _Features],
    feat_frame: pd.DataFrame,
    primary_of: dict[str, Signal],
    config: HedgeFundConfig,
) -> list[CotExtreme]:
    """Markets where speculators are crowded beyond the extreme z-score, most extreme first."""
    out = []
    for symbol, feat in feats.items():
        z52 = feat.z52
        if z52 is None or abs(z52) < config.cot_extreme_z:
            continue
        crowding = "CROWDED_LONG" if z52 > 0 else "CROWDED_SHORT"
        sig = primary_of.get(symbol)
        rule_cot = num(sig["rule_cot_extreme"]) if sig is not None else None
        rules = RulePath().add("hedge_fund.cot_extreme_z", f"|cot_spec_z52| >= {config.cot_extreme_z}", z52, crowding)
        cot_index = feat.cot_index
        text = (
            f"{symbol}: speculators {crowding.lower().replace('_', ' ')} (z52 {z52:+.2f}, COT index "
            f"{'n/a' if cot_index is None else f'{cot_index:.0f}'}); contrarian view "
            f"{'down' if z52 > 0 else 'up'}"
        )
        out.append(
            make_item(
                CotExtreme,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=crowding,
                text=text,
                rules=rules,
                signal_row=sig,
                data_refs=feature_refs([symbol], feat_frame),
                cot_spec_z52=r6(z52),
                cot_index=r6(cot_index),
                cot_spec_net_share=r6(feat.cot_spec_net_share),
                rule_cot_extreme=r6(rule_cot),
                contrarian_view="DOWN" if z52 > 0 else "UP",
            )
        )
    return sorted(out, key=lambda x: (-abs(x.cot_spec_z52), x.subject))


def conviction_score(sig: Mapping[str, Any]) -> float:
    """confidence x |ensemble score| x agreement, where agreement = (1 + confluence x direction sign) / 2."""
    direction = _SIGN[str(sig["direction"])]
    if direction == 0:
        return 0.0
    agreement = (1 + float(sig["confluence"]) * direction) / 2
    return max(0.0, min(1.0, float(sig["confidence"]) * abs(float(sig["ensemble_score"])) * agreement))


def _conviction(day: date, primary: list[Signal]) -> list[ConvictionRank]:
    """The primary signals ranked by conviction (ties by symbol), each citing its own row."""
    scored = sorted(
        ((round(conviction_score(s), 9), str(s["symbol"]), s) for s in primary),
        key=lambda x: (-x[0], x[1]),
    )
    out = []
    for rank, (score, symbol, sig) in enumerate(scored, start=1):
        direction = str(sig["direction"])
        action = "NONE" if score == 0 else "LONG" if direction == "UP" else "SHORT"
        rules = RulePath().add(
            "hedge_fund.conviction",
            "confidence x |ensemble| x (1 + confluence x sign) / 2",
            {
                "confidence": float(sig["confidence"]),
                "ensemble": float(sig["ensemble_score"]),
                "confluence": float(sig["confluence"]),
            },
            f"{score:.4f} -> rank {rank}",
        )
        stance = {"NONE": "no position", "LONG": "long", "SHORT": "short"}[action]
        text = f"#{rank} {symbol}: {stance}, conviction {score:.3f}; the signal {_view(sig)}"
        out.append(
            make_item(
                ConvictionRank,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=action,
                text=text,
                rules=rules,
                signal_row=sig,
                rank=rank,
                horizon=int(sig["horizon"]),
                conviction=r6(score),
                direction=direction,
                probability=r6(float(sig["probability"])),
                confidence=r6(float(sig["confidence"])),
                ensemble_score=r6(float(sig["ensemble_score"])),
                confluence=r6(float(sig["confluence"])),
            )
        )
    return out


def build_hedge_fund(inputs: PersonaInputs, day: date, config: HedgeFundConfig | None = None) -> HedgeFundOutput:
    """All of the day's signals, then the views built on the fund's horizon.

    At one horizon a day holds one row per symbol, so each section's item cites that row alone (its provenance is
    the row's, as of a one-row frame).
    """
    config = config or HedgeFundConfig()
    everything = inputs.signal_records(day)
    primary = [s for s in everything if s["horizon"] == config.horizon]
    primary_of = {str(s["symbol"]): s for s in primary}
    feat_frame = inputs.features_asof(day, config.max_feature_age_days)
    feats = _features_by_symbol(feat_frame, config.momentum_column)
    return HedgeFundOutput(
        as_of=day,
        horizon=config.horizon,
        signals=_raw_signals(day, everything),
        non_consensus=_non_consensus(day, primary, feats, feat_frame, config),
        cot_extremes=_cot_extremes(day, feats, feat_frame, primary_of, config),
        conviction=_conviction(day, primary),
        paper_track_record=paper_track_record(inputs, day),
    )


def to_rows(output: HedgeFundOutput) -> pa.Table:
    return output_rows(output)
