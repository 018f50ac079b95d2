"""One EIA row and its checks, shared by the API v2 and download-CSV readers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from resources.sources.eia.spec import SERIES, Cadence

MISSING_MARKERS = frozenset({"", ".", "NA", "N/A", "--", "-", "W", "NM", "(NA)", "NULL", "NONE"})


@dataclass(frozen=True)
class Row:
    series_id: str
    period: date
    value: float | None
    units: str


class BadRow(ValueError):
    """A row to quarantine; `kind` becomes the rejection's error type."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_value(raw: object) -> float | None:
    """A published value; None for EIA's missing markers. Raises BadRow for anything else."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise BadRow(f"non-numeric value {raw!r}", "BadValue")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if text.upper() in MISSING_MARKERS:
            return None
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            raise BadRow(f"non-numeric value {raw!r}", "BadValue") from None
    else:
        raise BadRow(f"non-numeric value {raw!r}", "BadValue")
    if not math.isfinite(value):
        raise BadRow(f"non-finite value {raw!r}", "BadValue")
    return value


def check_period(day: date, cadence: Cadence) -> None:
    if cadence == "weekly" and day.weekday() != 4:
        raise BadRow(f"week ending {day.isoformat()} is not a Friday", "BadDate")
    if cadence == "daily" and day.weekday() >= 5:
        raise BadRow(f"daily price dated {day.isoformat()}, a weekend", "BadDate")


def check_units(series_id: str, units: str) -> None:
    known = SERIES.get(series_id)
    if known is not None and units != known.units:
        raise BadRow(f"units {units!r} for {series_id}, expected {known.units!r}", "BadUnits")
