"""Shared machinery of the persona builders: rule paths, provenance, stable recommendation ids, number formats.

An item's id is a hash of what it says and what it rests on (persona, day, section, subject, every field but the
id), so re-running a day on the same inputs gives the same ids (the audit trail adds nothing), while a changed
input or model gives a new id (a new recommendation, recorded next to the old one).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar, get_args

import pandas as pd

from assets.personas.models import PersonaItem, PersonaName, RuleStep, SignalRef
from assets.signals.contract import Direction, DrawdownState, RegimeName, SentimentLabel

ID_LENGTH = 32
ItemT = TypeVar("ItemT", bound=PersonaItem)


class RulePath:
    """Collects the rules evaluated for one item, in order."""

    def __init__(self) -> None:
        self._steps: list[RuleStep] = []

    def add(self, rule: str, condition: str, observed: object, outcome: str) -> RulePath:
        self._steps.append(
            RuleStep(step=len(self._steps) + 1, rule=rule, condition=condition, observed=fmt(observed), outcome=outcome)
        )
        return self

    @property
    def steps(self) -> list[RuleStep]:
        return list(self._steps)


def fmt(value: object, digits: int = 4) -> str:
    """A value as the rule path shows it: rounded floats, 'n/a' for missing."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.{digits}f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v, digits)}" for k, v in value.items())
    return str(value)


def num(value: object) -> float | None:
    """A float, or None for missing values (NaN, None, NA)."""
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) or math.isinf(out) else out


def r6(value: float | None) -> float | None:
    """Rounded to 6 decimals: outputs do not depend on the last bits of a float sum."""
    return None if value is None else round(float(value), 6)


def pct(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def signed_pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:+.{digits}f}%"


def usd(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}${value / 1e6:,.2f}m"
    if value >= 1e3:
        return f"{sign}${value / 1e3:,.0f}k"
    return f"{sign}${value:,.0f}"


@lru_cache(maxsize=1 << 15)
def _signal_ref(symbol: str, signal_date: date, horizon: int) -> SignalRef:
    """One validated (frozen) `SignalRef` per key: every persona of a day cites the same rows, items over and over."""
    return SignalRef(symbol=symbol, signal_date=signal_date, horizon=horizon)


def signal_refs(rows: pd.DataFrame | None) -> list[SignalRef]:
    if rows is None or rows.empty:
        return []
    # plain numpy arrays, not pandas per element: this runs for every item of every persona and day
    days = rows["signal_date"].to_numpy().astype("datetime64[D]").tolist()
    refs = set(zip(map(str, rows["symbol"].to_numpy()), days, rows["horizon"].to_numpy().tolist(), strict=True))
    return [_signal_ref(s, d, int(h)) for s, d, h in sorted(refs)]


def _distinct(rows: pd.DataFrame | None, column: str) -> list[str]:
    if rows is None or rows.empty or column not in rows.columns:
        return []
    # the few distinct values checked for missing ones, not every row through an array mask
    return sorted({str(v) for v in set(rows[column].tolist()) if not pd.isna(v)})


def frame_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as records (column -> value, as `Series.tolist` gives them), in order: builders that read a
    few values per row, and cite rows (`provenance`), use these instead of pandas per row."""
    columns = [rows[c].tolist() for c in rows.columns]
    return [dict(zip(rows.columns, values, strict=True)) for values in zip(*columns, strict=True)]


def records_provenance(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """`provenance` of a frame holding these signal rows (records, e.g. `PersonaInputs.signal_records`), without
    building that frame: the same sorted keys and distinct values."""

    def distinct(column: str) -> list[str]:
        return sorted({str(v) for row in rows if (v := row.get(column)) is not None and not pd.isna(v)})

    keys = {
        (
            str(row["symbol"]),
            pd.Timestamp(row["signal_date"]).to_datetime64().astype("datetime64[D]").tolist(),
            int(row["horizon"]),
        )
        for row in rows
    }
    return {
        "signal_refs": [_signal_ref(*key) for key in sorted(keys)],
        "model_versions": distinct("model_version"),
        "feature_snapshot_hashes": distinct("feature_snapshot_hash"),
        "signal_run_ids": distinct("run_id"),
    }


def provenance(rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None) -> dict[str, list[Any]]:
    """The signal keys, model versions, feature snapshot hashes and run ids of the signal rows an item used (a
    frame, or the rows as records)."""
    if rows is not None and not isinstance(rows, pd.DataFrame):
        return records_provenance(rows)
    return {
        "signal_refs": signal_refs(rows),
        "model_versions": _distinct(rows, "model_version"),
        "feature_snapshot_hashes": _distinct(rows, "feature_snapshot_hash"),
        "signal_run_ids": _distinct(rows, "run_id"),
    }


def feature_refs_by_symbol(rows: pd.DataFrame | None, source: str = "features") -> dict[str, list[str]]:
    """'features:SPX@2024-06-14' for each row (the as-of row, which may be older than the day), by the row's symbol:
    built once for a day's rows, then read per item (`refs_of`)."""
    out: dict[str, list[str]] = {}
    if rows is None or rows.empty:
        return out
    days = rows["trade_date"].to_numpy().astype("datetime64[D]").astype(str).tolist()
    for symbol, day in zip(rows["symbol"].to_numpy().tolist(), days, strict=True):
        out.setdefault(symbol, []).append(f"{source}:{symbol}@{day}")
    return out


def refs_of(by_symbol: Mapping[str, list[str]], symbols: Iterable[str]) -> list[str]:
    """The refs of `symbols` (from `feature_refs_by_symbol`), sorted, each once."""
    return sorted({ref for symbol in set(symbols) for ref in by_symbol.get(symbol, ())})


def feature_refs(symbols: Iterable[str], rows: pd.DataFrame | None, source: str = "features") -> list[str]:
    """'features:SPX@2024-06-14' for each symbol's row used (the as-of row, which may be older than the day)."""
    return refs_of(feature_refs_by_symbol(rows, source), symbols)


def recommendation_id(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_LENGTH]


def make_item(
    cls: type[ItemT],
    *,
    persona: PersonaName,
    as_of: date,
    subject: str,
    action: str,
    text: str,
    rules: RulePath,
    signals: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    signal_row: Mapping[str, Any] | None = None,
    data_refs: Iterable[str] = (),
    **fields: Any,
) -> ItemT:
    """Build an item with its provenance and its content-derived id (validated once, the id hashed from it)."""
    base = {
        "persona": persona,
        "as_of": as_of,
        "subject": subject,
        "action": action,
        "text": text,
        "rule_path": rules.steps,
        "data_refs": sorted(set(data_refs)),
        **provenance(signals if signal_row is None else [signal_row]),
        **fields,
    }
    draft = cls.model_validate({"recommendation_id": "pending", **base})
    content = draft.model_dump(mode="json", exclude={"recommendation_id"})
    # the draft's fields are already validated: only the id changes (a second validation cost as much as the first)
    return draft.model_copy(update={"recommendation_id": recommendation_id(content)})


def regime_family(regime: str | None) -> str:
    """BULL-like, BEAR-like, SIDEWAYS, CRISIS or RECOVERY: for agreement across instruments."""
    if regime is None:
        return "UNKNOWN"
    if regime.endswith("BULL"):
        return "BULL"
    if regime.endswith("BEAR"):
        return "BEAR"
    return regime


# ---------------------------------------------------------------------------------------------- plain wording
# What a reader sees instead of the signals' internal codes (drawdown states, regime names, directions).
GUARD_WORDS: dict[str, str] = {
    "FULL_SIZE": "no cut",
    "REDUCE_50": "position size halved",
    "REDUCE_75": "position size cut by three quarters",
    "STOP_TRADING": "trading paused",
}
_OUTCOME = {"UP": "rise", "DOWN": "fall", "FLAT": "little change"}
_OTHERS = {"UP": "flat or fall", "DOWN": "flat or rise", "FLAT": "a rise or a fall"}


def guard_words(state: str) -> str:
    """The drawdown guard's state in words ('position size halved'), never the code."""
    return GUARD_WORDS.get(str(state), "position size reduced")


# What the drawdown guard reacts to, in every text that mentions it: the signal's own paper losses on the
# instrument (the shadow strategy of `assets/signals/build.py`), not the market. Without it a reader sees "strong
# bull regime" beside "position halved" and takes the report to contradict itself.
GUARD_REASON = "our paper track record on it is in drawdown"
BULLISH_ANYWAY = "although the market regime is bullish"


def guard_reason(name: str, state: str, regime: str | None = None) -> str:
    """'the S&P 500 (our paper track record on it is in drawdown: position size halved, although the market regime
    is bullish)': a guard cut named with what it reacts to, and, beside a bullish regime, that it is not the market."""
    text = f"{name} ({GUARD_REASON}: {guard_words(state)}"
    return text + (f", {BULLISH_ANYWAY})" if regime_family(regime) == "BULL" else ")")


def regime_words(regime: str | None) -> str:
    """'STRONG_BULL' -> 'strong bull' (a label of the recent past, not a forecast)."""
    return "unknown" if regime is None else str(regime).replace("_", " ").lower()


def odds(direction: str, prob_up: float, prob_flat: float, prob_down: float) -> str:
    """The direction's probability against everything else, in whole percent that add up to 100.

    '56% rise, 44% flat or fall' for UP; '61% little change, 39% a rise or a fall' for FLAT.
    """
    p = {"UP": prob_up, "DOWN": prob_down, "FLAT": prob_flat}[str(direction)]
    share = round(100 * float(p))
    return f"{share}% {_OUTCOME[str(direction)]}, {100 - share}% {_OTHERS[str(direction)]}"


def more_likely_than_not(probability: float) -> bool:
    """A direction may be stated only when it is the more likely side (as the reader sees it, in whole percent)."""
    return round(100 * float(probability)) > 50


def lean(direction: str, probability: float) -> str:
    """What the model's call says in words: a direction only when it is the more likely side.

    A call of UP with a probability of 44% is not 'leans higher': no rise (56%) is the more likely side.
    """
    if not more_likely_than_not(probability):
        return "sees no side as more likely than not"
    if str(direction) == "FLAT":
        return "expects little change"
    return f"sees a {_OUTCOME[str(direction)]} as more likely than not"


def confidence_words(probability: float) -> str:
    """How sure the regime model is of its reading, in words."""
    p = float(probability)
    if p >= 0.9:
        return "highly confident"
    if p >= 0.7:
        return "fairly confident"
    if p >= 0.5:
        return "moderately confident"
    return "not confident"


def score_text(probability: float) -> str:
    """A 0-1 confidence with two decimals that never reads as certainty ('above 0.99' rather than '1.00')."""
    p = float(probability)
    if round(p, 2) >= 1.0:
        return "above 0.99"
    return "below 0.01" if round(p, 2) <= 0.0 else f"{p:.2f}"


def regime_sentence(subject: str, regime: str, probability: float) -> str:
    """A regime reading with what its confidence means: a description of the recent past, not a forecast."""
    return (
        f"the model is {confidence_words(probability)} that {subject} is in a {regime_words(regime)} regime "
        f"({score_text(probability)} on a scale from 0 to 1), which describes the recent past, not a forecast"
    )


# Internal spellings a client must never read: a word with an underscore (REDUCE_75, stop_trading, STRONG_BULL)
# or an upper-case enum value of the signals contract (UP, FLAT, BULL, CRISIS, ...). Tickers (SPX, WTI) are allowed.
_UNDERSCORED = re.compile(r"\b[A-Za-z]+_[A-Za-z0-9_]+\b")


_ENUM_VALUES = frozenset(v for t in (Direction, DrawdownState, RegimeName, SentimentLabel) for v in get_args(t))


def codes_in(text: str) -> list[str]:
    """The internal codes in a text meant for people (empty when it is plain)."""
    found = set(_UNDERSCORED.findall(text))
    found |= {w for w in re.findall(r"\b[A-Z]{2,}\b", text) if w in _ENUM_VALUES}
    return sorted(found)
