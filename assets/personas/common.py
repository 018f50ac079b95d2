"""Shared machinery of the persona builders: rule paths, provenance, stable recommendation ids, number formats.

An item's id is a hash of what it says and what it rests on (persona, day, section, subject, every field but the
id), so re-running a day on the same inputs gives the same ids (the audit trail adds nothing), while a changed
input or model gives a new id (a new recommendation, recorded next to the old one).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from assets.personas.models import PersonaItem, PersonaName, RuleStep, SignalRef

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


def signal_refs(rows: pd.DataFrame | None) -> list[SignalRef]:
    if rows is None or rows.empty:
        return []
    refs = {
        (str(r.symbol), pd.Timestamp(r.signal_date).date(), int(r.horizon))
        for r in rows[["symbol", "signal_date", "horizon"]].itertuples(index=False)
    }
    return [SignalRef(symbol=s, signal_date=d, horizon=h) for s, d, h in sorted(refs)]


def _distinct(rows: pd.DataFrame | None, column: str) -> list[str]:
    if rows is None or rows.empty or column not in rows.columns:
        return []
    return sorted({str(v) for v in rows[column].dropna()})


def provenance(rows: pd.DataFrame | None) -> dict[str, list[Any]]:
    """The signal keys, model versions, feature snapshot hashes and run ids of the signal rows an item used."""
    return {
        "signal_refs": signal_refs(rows),
        "model_versions": _distinct(rows, "model_version"),
        "feature_snapshot_hashes": _distinct(rows, "feature_snapshot_hash"),
        "signal_run_ids": _distinct(rows, "run_id"),
    }


def feature_refs(symbols: Iterable[str], rows: pd.DataFrame | None, source: str = "features") -> list[str]:
    """'features:SPX@2024-06-14' for each symbol's row used (the as-of row, which may be older than the day)."""
    if rows is None or rows.empty:
        return []
    wanted = set(symbols)
    refs = {
        f"{source}:{r.symbol}@{pd.Timestamp(r.trade_date).date().isoformat()}"
        for r in rows[["symbol", "trade_date"]].itertuples(index=False)
        if r.symbol in wanted
    }
    return sorted(refs)


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
    signals: pd.DataFrame | None = None,
    data_refs: Iterable[str] = (),
    **fields: Any,
) -> ItemT:
    """Build an item with its provenance and its content-derived id (validated twice: once to normalise)."""
    base = {
        "persona": persona,
        "as_of": as_of,
        "subject": subject,
        "action": action,
        "text": text,
        "rule_path": rules.steps,
        "data_refs": sorted(set(data_refs)),
        **provenance(signals),
        **fields,
    }
    draft = cls.model_validate({"recommendation_id": "pending", **base})
    content = draft.model_dump(mode="json", exclude={"recommendation_id"})
    return cls.model_validate({**base, "recommendation_id": recommendation_id(content)})


def first_row(rows: pd.DataFrame, **match: Any) -> pd.Series | None:
    """The first row whose columns equal `match`, or None."""
    mask = pd.Series(True, index=rows.index)
    for column, value in match.items():
        mask &= rows[column] == value
    hit = rows[mask]
    return None if hit.empty else hit.iloc[0]


def by_symbol(rows: pd.DataFrame) -> dict[str, pd.Series]:
    return {str(r["symbol"]): r for _, r in rows.iterrows()}


def regime_family(regime: str | None) -> str:
    """BULL-like, BEAR-like, SIDEWAYS, CRISIS or RECOVERY: for agreement across instruments."""
    if regime is None:
        return "UNKNOWN"
    if regime.endswith("BULL"):
        return "BULL"
    if regime.endswith("BEAR"):
        return "BEAR"
    return regime
