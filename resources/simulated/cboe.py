"""Cboe's daily index history files (`VIX_History.csv` and friends), as Cboe serves them, from the world.

Format: `DATE,OPEN,HIGH,LOW,CLOSE` with `MM/DD/YYYY` dates and six decimals (SKEW and VVIX: `DATE,<SYMBOL>`).
Cboe occasionally restates history: a few times a year a handful of recent closes are corrected, and every file
served after the correction shows the corrected values (`restatements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from resources.simulated.misprints import Misprint, apply_misprints, load_misprints
from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import _stream, lengthened, world_for

# First date each index is published (the real histories start on these dates, or at the world's epoch).
FIRST_DATE = {
    "VIX": date(2000, 1, 3),
    "VIX3M": date(2009, 9, 18),
    "VIX9D": date(2011, 1, 4),
    "SKEW": date(2000, 1, 3),
    "VVIX": date(2007, 1, 3),
}
CLOSE_ONLY = {"SKEW", "VVIX"}
RESTATEMENTS_PER_YEAR = 2


@dataclass(frozen=True)
class Restatement:
    effective: date  # first as-of date whose file shows the corrected value
    observed: date
    factor: float


@lru_cache(maxsize=16)
def _ohlc(seed: int, symbol: str) -> pd.DataFrame:
    world = world_for(seed)
    close = world.daily[symbol]
    close = close[close.index >= pd.Timestamp(FIRST_DATE[symbol])]
    rng = _stream(seed, f"cboe/ohlc/{symbol}")
    z = np.abs(rng.standard_normal((len(close), 3)))
    prev = close.shift(1).fillna(close.iloc[0]).to_numpy()
    opens = prev * np.exp(0.02 * (z[:, 0] - 0.8))
    highs = np.maximum(opens, close.to_numpy()) * np.exp(0.015 * z[:, 1])
    lows = np.minimum(opens, close.to_numpy()) * np.exp(-0.015 * z[:, 2])
    return pd.DataFrame({"OPEN": opens, "HIGH": highs, "LOW": lows, "CLOSE": close.to_numpy()}, index=close.index)


@lru_cache(maxsize=16)
def restatements(seed: int, symbol: str) -> tuple[Restatement, ...]:
    """Deterministic corrections: each year a couple of dates, each fixing 1 to 3 closes of the prior six months."""
    frame = _ohlc(seed, symbol)
    days = frame.index
    rng = _stream(seed, f"cboe/restatements/{symbol}")
    events: list[Restatement] = []
    for year in range(days[0].year, days[-1].year + 1):
        in_year = np.flatnonzero(days.year == year)
        if len(in_year) < 40:
            continue
        for pos in sorted(rng.choice(in_year[25:], size=RESTATEMENTS_PER_YEAR, replace=False)):
            for back in sorted(rng.choice(np.arange(1, 121), size=int(rng.integers(1, 4)), replace=False)):
                factor = float(1 + rng.choice([-1, 1]) * rng.uniform(0.004, 0.02))
                events.append(Restatement(days[pos].date(), days[pos - back].date(), factor))
    return tuple(events)


def history(seed: int, symbol: str, as_of: date) -> pd.DataFrame:
    """The index history as Cboe's file showed it at the end of `as_of`."""
    frame = _ohlc(seed, symbol)
    frame = frame[frame.index <= pd.Timestamp(as_of)].copy()
    for event in restatements(seed, symbol):
        if event.effective <= as_of and pd.Timestamp(event.observed) in frame.index:
            frame.loc[pd.Timestamp(event.observed), ["OPEN", "HIGH", "LOW", "CLOSE"]] *= event.factor
    return frame


# The older downloads' first line: a disclaimer (worded here by the simulator, not copied from Cboe).
LEGACY_DISCLAIMER = "Cboe data is provided for the convenience of visitors, without warranty of accuracy or timeliness."


def history_csv(
    seed: int,
    symbol: str,
    as_of: date,
    misprints: list[Misprint] | None = None,
    *,
    rows: int | None = None,
    layout: Literal["current", "legacy"] = "current",
) -> bytes:
    """`<SYMBOL>_History.csv` at the end of `as_of`; with `rows`, exactly that many data rows (see `lengthened`).

    `legacy` is the older download (`vixcurrent.csv`): a disclaimer line, then `Date,VIX Open,...,VIX Close`
    (symbol-prefixed names), `M/D/YYYY` dates without leading zeros and two decimals, CRLF line ends.
    """
    frame = apply_misprints(history(seed, symbol, as_of), misprints or [], source="cboe", series=symbol, as_of=as_of)
    if rows is not None:
        frame = lengthened(frame, rows, business_days=True)
    legacy = layout == "legacy"
    dates = [f"{d.month}/{d.day}/{d.year}" for d in frame.index] if legacy else frame.index.strftime("%m/%d/%Y")
    places = 2 if legacy else 6
    columns = [symbol] if symbol in CLOSE_ONLY else ["OPEN", "HIGH", "LOW", "CLOSE"]
    names = [f"{symbol} {c.title()}" if legacy and c != symbol else c for c in columns]
    lines = [LEGACY_DISCLAIMER] if legacy else []
    lines.append(",".join(["Date" if legacy else "DATE", *names]))
    values = frame[["CLOSE"] if symbol in CLOSE_ONLY else columns].to_numpy()
    lines += [",".join([d, *(f"{v:.{places}f}" for v in row)]) for d, row in zip(dates, values, strict=True)]
    newline = "\r\n" if legacy else "\n"
    return (newline.join(lines) + newline).encode("ascii")


def archive_workbook(seed: int, symbol: str, as_of: date) -> bytes:
    """The older archive download (`vixarchive.xls`): one sheet, the disclaimer line, `Date,Open,High,Low,Close`,
    dates as date cells, values to two decimals. Written as .xlsx (`spreadsheets`), with the same cells."""
    from resources.simulated.spreadsheets import xlsx

    frame = history(seed, symbol, as_of)
    columns = ["CLOSE"] if symbol in CLOSE_ONLY else ["OPEN", "HIGH", "LOW", "CLOSE"]
    rows = [[LEGACY_DISCLAIMER], ["Date", *(c.title() for c in columns)]]
    values = frame[columns].to_numpy()
    rows += [[d.date(), *(round(float(v), 2) for v in row)] for d, row in zip(frame.index, values, strict=True)]
    return xlsx({symbol: rows})


@route(r"/api/global/us_indices/daily_prices/(?P<symbol>[A-Z0-9]+)_History\.csv")
def _serve_history(app: SimulatedPublisher, request: Request, match: object) -> Response:
    symbol = match.group("symbol")  # type: ignore[attr-defined]
    if symbol not in FIRST_DATE or app.as_of < FIRST_DATE[symbol]:
        return Response.not_found(f"{symbol}_History.csv")
    misprints = load_misprints(app.misprints_file)
    return Response(200, history_csv(app.seed, symbol, app.as_of, misprints), "text/csv")
