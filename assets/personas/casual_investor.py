"""Casual investor: one plain sentence a day, and a monthly digest on the month's last weekday.

The mood counts instruments with a confident, non-flat call at the horizon and reads stress from the regimes and
the VIX percentile. Sentences describe, they never promise, and they point to the long-term plan rather than to
trades: a casual investor should not be pushed to act on one day's estimate.
"""

from __future__ import annotations

import calendar
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from assets.personas.common import RulePath, feature_refs, frame_records, make_item, num, signed_pct
from assets.personas.config import CasualInvestorConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.models import CasualInvestorOutput, DailySentence, MonthlyDigest
from assets.personas.tables import output_rows

PERSONA = "casual_investor"
ACTIONS = {
    "STRESSED": "REVIEW_RISK",
    "NEGATIVE": "BE_PATIENT",
    "POSITIVE": "STAY_THE_COURSE",
    "MIXED": "STAY_THE_COURSE",
    "QUIET": "STAY_THE_COURSE",
}


def is_month_end(day: date) -> bool:
    """True on the month's last weekday (the digest day; holidays aside)."""
    last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return day == last


Counts = dict[str, int]


def mood_of(
    signals: pd.DataFrame, vix_pct: float | None, config: CasualInvestorConfig, rules: RulePath | None = None
) -> tuple[str, Counts]:
    """(mood, counts) from one day's signals at the horizon."""
    return _mood(_counts(signals, config), vix_pct, config, rules)


def _counts(signals: pd.DataFrame, config: CasualInvestorConfig) -> Counts:
    """Instruments, confident UP and DOWN calls, and instruments in a stressed regime, among `signals`."""
    n = int(signals["symbol"].nunique())
    confident = signals[(signals["confidence"] >= config.min_confidence) & (signals["direction"] != "FLAT")]
    ups = int((confident["direction"] == "UP").sum())
    downs = int((confident["direction"] == "DOWN").sum())
    stressed_n = int(signals.loc[signals["regime"].isin(config.stressed_regimes), "symbol"].nunique())
    return {"n": n, "ups": ups, "downs": downs, "stressed": stressed_n}


def _mood(
    counts: Counts, vix_pct: float | None, config: CasualInvestorConfig, rules: RulePath | None
) -> tuple[str, Counts]:
    rules = rules or RulePath()
    n, ups, downs, stressed_n = counts["n"], counts["ups"], counts["downs"], counts["stressed"]
    stressed = (n > 0 and stressed_n / n >= config.stressed_share) or (
        vix_pct is not None and vix_pct >= config.stressed_vix_pct
    )
    rules.add(
        "casual_investor.stressed_share",
        f"share in {list(config.stressed_regimes)} >= {config.stressed_share}"
        f" or vix_pct_1y >= {config.stressed_vix_pct}",
        {"stressed": stressed_n, "n": n, "vix_pct_1y": vix_pct},
        "fire -> STRESSED" if stressed else "pass",
    )
    if stressed:
        return "STRESSED", counts
    clear = ups + downs
    quiet = n == 0 or clear / n < config.quiet_share
    rules.add(
        "casual_investor.quiet_share",
        f"share with a confident view (confidence >= {config.min_confidence}) >= {config.quiet_share}",
        {"clear": clear, "n": n},
        "fire -> QUIET" if quiet else "pass",
    )
    if quiet:
        return "QUIET", counts
    up_share = ups / clear
    mood = (
        "POSITIVE"
        if up_share >= config.breadth_threshold
        else "NEGATIVE"
        if 1 - up_share >= config.breadth_threshold
        else "MIXED"
    )
    rules.add(
        "casual_investor.breadth_threshold",
        f"share one way >= {config.breadth_threshold}",
        {"ups": ups, "downs": downs},
        mood,
    )
    return mood, counts


def sentence(mood: str, counts: dict[str, int]) -> str:
    n, ups, downs, stressed = counts["n"], counts["ups"], counts["downs"], counts["stressed"]
    if mood == "STRESSED":
        return (
            f"Markets are under stress today ({stressed} of {n} markets in a bear or crisis state, or volatility near "
            "its yearly high), so it is a day to check that your plan still suits you rather than to react."
        )
    if mood == "POSITIVE":
        return (
            f"Markets lean positive today ({ups} of {ups + downs} clear model views point up), but that is an "
            "estimate rather than a promise, so your long-term plan stays the guide."
        )
    if mood == "NEGATIVE":
        return (
            f"Markets lean negative today ({downs} of {ups + downs} clear model views point down), which happens "
            "from time to time, so patience and your long-term plan matter more than any single day."
        )
    if mood == "MIXED":
        return (
            f"Signals are mixed today ({ups} up and {downs} down among the clear model views), so there is nothing "
            "to act on and your long-term plan stays the guide."
        )
    return f"It is a quiet day without strong model views across {n} markets, so there is nothing you need to do."


@dataclass(frozen=True)
class _SignalDay:
    """One day's signal rows at the horizon (as records, for the items' provenance) and their counts for the mood."""

    rows: list[dict[str, Any]]
    counts: Counts


def _signal_day(inputs: PersonaInputs, day: date, config: CasualInvestorConfig) -> _SignalDay:
    """Once per day: the month-end digest reads the moods of the month's days again."""

    def compute() -> _SignalDay:
        rows = inputs.signals_on(day, config.horizon)
        return _SignalDay(rows=frame_records(rows), counts=_counts(rows, config))

    key = ("casual_investor.signal_day", day, config.horizon, config.min_confidence, tuple(config.stressed_regimes))
    return inputs.memo(key, (inputs.signals,), compute)


def _features(inputs: PersonaInputs, day: date, max_age: int) -> tuple[float | None, list[str]]:
    """(the last known vix_pct_1y, the feature refs) of the day's as-of features: once per day, as the digest
    reads every day of the month again."""

    def compute() -> tuple[float | None, list[str]]:
        feats = inputs.features_asof(day, max_age)
        if feats.empty:
            return None, []
        vix = feats["vix_pct_1y"].to_numpy()
        vix = vix[~pd.isna(vix)]
        return (num(vix[-1]) if vix.size else None), feature_refs(feats["symbol"], feats)

    return inputs.memo(("casual_investor.features", day, max_age), (inputs.features,), compute)


def _daily(day: date, inputs: PersonaInputs, config: CasualInvestorConfig) -> DailySentence:
    signals = _signal_day(inputs, day, config)
    vix_pct, refs = _features(inputs, day, config.max_feature_age_days)
    rules = RulePath()
    mood, counts = _mood(signals.counts, vix_pct, config, rules)
    return make_item(
        DailySentence,
        persona=PERSONA,
        as_of=day,
        subject="market",
        action=ACTIONS[mood],
        text=sentence(mood, counts),
        rules=rules,
        signals=signals.rows,
        data_refs=refs,
        mood=mood,
    )


def _month_return(prices: pd.DataFrame, symbol: str, start: pd.Timestamp) -> float | None:
    rows = prices[prices["symbol"] == symbol]
    before, during = rows[rows["trade_date"] < start], rows[rows["trade_date"] >= start]
    if during.empty:
        return None
    base = before["close"].iloc[-1] if not before.empty else during["close"].iloc[0]
    last = during["close"].iloc[-1]
    return None if base is None or base <= 0 or math.isnan(base) else float(last / base - 1)


def _digest(day: date, inputs: PersonaInputs, config: CasualInvestorConfig) -> MonthlyDigest:
    start = pd.Timestamp(day.year, day.month, 1)
    month_signals = inputs.signals[
        (inputs.signals["signal_date"] >= start)
        & (inputs.signals["signal_date"] <= pd.Timestamp(day))
        & (inputs.signals["horizon"] == config.horizon)
    ]
    days = sorted(pd.Timestamp(d).date() for d in month_signals["signal_date"].dropna().unique())
    moods: Counter[str] = Counter()
    for d in days:
        vix_pct, _ = _features(inputs, d, config.max_feature_age_days)
        moods[_mood(_signal_day(inputs, d, config).counts, vix_pct, config, None)[0]] += 1
    prices = inputs.prices_until(day, lookback_days=62)
    moves = []
    refs = []
    for symbol in config.digest_symbols:
        ret = _month_return(prices, symbol, start)
        if ret is not None:
            moves.append(f"{inputs.name(symbol)} {signed_pct(ret)}")
            refs.append(f"prices:{symbol}@{start.date().isoformat()}..{day.isoformat()}")
    regimes = Counter(month_signals["regime"])
    top = sorted(regimes.items(), key=lambda kv: (-kv[1], kv[0]))  # ties by name: row order must not matter
    top_regime = top[0][0].lower().replace("_", " ") if top else "unknown"
    month_name = f"{calendar.month_name[day.month]} {day.year}"
    mood_text = ", ".join(f"{m.lower()} on {c}" for m, c in sorted(moods.items(), key=lambda x: (-x[1], x[0])))
    lines = [
        f"{month_name} in brief.",
        f"Over {len(days)} market days the daily mood was {mood_text or 'not available'}.",
        f"Month to date: {'; '.join(moves) if moves else 'no prices available'}.",
        f"The most common market state in the model was {top_regime}.",
        "These are past moves and model estimates, not predictions to rely on; a long-term plan matters more than "
        "any one month.",
    ]
    rules = RulePath().add(
        "casual_investor.digest",
        "moods of every signal day of the month, month-to-date returns of the digest instruments",
        {"days": len(days), "symbols": len(moves)},
        "digest",
    )
    return make_item(
        MonthlyDigest,
        persona=PERSONA,
        as_of=day,
        subject=f"month:{day.year:04d}-{day.month:02d}",
        action="READ",
        text="\n".join(lines),
        rules=rules,
        signals=month_signals,
        data_refs=refs,
        month=f"{day.year:04d}-{day.month:02d}",
        days=len(days),
    )


def build_casual_investor(
    inputs: PersonaInputs, day: date, config: CasualInvestorConfig | None = None, *, digest: bool | None = None
) -> CasualInvestorOutput:
    """The day's sentence, plus the month's digest on its last weekday (or when `digest` is forced)."""
    config = config or CasualInvestorConfig()
    with_digest = is_month_end(day) if digest is None else digest
    return CasualInvestorOutput(
        as_of=day, daily=_daily(day, inputs, config), digest=_digest(day, inputs, config) if with_digest else None
    )


def to_rows(output: CasualInvestorOutput) -> pa.Table:
    return output_rows(output)
