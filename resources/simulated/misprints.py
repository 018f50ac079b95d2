"""Misprints: a value the simulated publisher gets wrong on some days and later corrects, as real publishers do.

Tests (and demos of the quality gates) list misprints in a small JSON file (NEXUS_PUBLISHER_MISPRINTS_FILE). A
misprint replaces one column of one observation in every file the publisher serves from `published` until the day
before `corrected`; files served from `corrected` on show the true value again. Without a file nothing changes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field, TypeAdapter


class Misprint(BaseModel):
    """One wrong value: which series and observation, what the publisher shows instead, and for which as-of days."""

    source: str = Field(description="publisher, e.g. cboe")
    series: str = Field(description="the publisher's series, e.g. VIX")
    observed: date
    column: str = Field(description="the publisher's column, e.g. CLOSE")
    value: float
    published: date = Field(description="first as-of day whose files show the misprint")
    corrected: date | None = Field(default=None, description="first as-of day whose files show the true value")

    def shown_on(self, as_of: date) -> bool:
        return self.published <= as_of and (self.corrected is None or as_of < self.corrected)


MISPRINTS = TypeAdapter(list[Misprint])


def load_misprints(path: Path | None) -> list[Misprint]:
    """The misprints file's entries (none without a file)."""
    if path is None or not path.exists():
        return []
    return MISPRINTS.validate_json(path.read_bytes())


def write_misprints(path: Path, misprints: list[Misprint]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MISPRINTS.dump_json(misprints, indent=2))


def apply_misprints(
    frame: pd.DataFrame, misprints: list[Misprint], *, source: str, series: str, as_of: date
) -> pd.DataFrame:
    """`frame` (indexed by observation date) as the publisher shows it on `as_of`."""
    shown = [m for m in misprints if m.source == source and m.series == series and m.shown_on(as_of)]
    if not shown:
        return frame
    frame = frame.copy()
    for misprint in shown:
        when = pd.Timestamp(misprint.observed)
        if when in frame.index:
            frame.loc[when, misprint.column] = misprint.value
    return frame
