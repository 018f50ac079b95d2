"""The signals' own paper-trading record, summarised for a persona from the gold ledger as known at its day.

Figures (all after trading costs, from rows dated on or before the day only):
- cumulative return: the book's last equity - 1 (equity compounds from 1.0 on the book's first day);
- last 20 trading days: last equity / equity 20 rows earlier - 1 (since the start when the book is shorter);
- drawdown: the last row's equity against its running peak; max drawdown: the deepest since the start;
- hit rate: a "trade" is an instrument-day with a paper position held since the previous close; a hit is a
  day whose P&L after costs is positive.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from assets.personas.common import pct, signed_pct
from assets.personas.inputs import PersonaInputs
from assets.personas.models import PaperTrackRecord
from assets.signals.ledger import PositionDayHits

WINDOW = 20


def paper_track_record(inputs: PersonaInputs, day: date) -> PaperTrackRecord | None:
    """None when no ledger row is dated on or before `day` (a fresh lake, a short range). Computed once per day
    for the personas that show it."""
    return inputs.memo(
        ("paper_track_record", day),
        (inputs.ledger_positions, inputs.ledger_portfolio),
        lambda: _paper_track_record(inputs, day),
    )


def _hits_until(inputs: PersonaInputs, day: date) -> PositionDayHits:
    """`position_day_hits` of the positions dated on or before `day`, counted from one pass over the whole ledger:
    whether a row was held depends only on its instrument's previous row, which is older, so the flags of the whole
    ledger are those of every prefix of it."""
    dates, hit = inputs.memo(("position_day_flags",), (inputs.ledger_positions,), lambda: _held(inputs))
    known = dates <= pd.Timestamp(day)
    return PositionDayHits(position_days=int(known.sum()), hits=int((hit & known).sum()))


def _held(inputs: PersonaInputs) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The dates of the ledger's position-days (held since the previous close) and whether each made money."""
    ordered = inputs.ledger_positions.sort_values(["symbol", "trade_date"], kind="stable")
    held = ordered.groupby("symbol", sort=False)["position"].shift(1).fillna(0.0) != 0
    rows = ordered.loc[held]
    return pd.DatetimeIndex(rows["trade_date"]), (rows["pnl"].astype("float64") > 0).to_numpy()


def _paper_track_record(inputs: PersonaInputs, day: date) -> PaperTrackRecord | None:
    portfolio = inputs.ledger_until(day)[1]
    portfolio = portfolio.dropna(subset=["equity"])
    if portfolio.empty:
        return None
    equity = portfolio["equity"].astype("float64").reset_index(drop=True)
    last = float(equity.iloc[-1])
    base = float(equity.iloc[-WINDOW - 1]) if len(equity) > WINDOW else 1.0
    peak = equity.cummax()
    drawdowns = equity / peak - 1.0
    hits = _hits_until(inputs, day)
    hit_rate = hits.hit_rate
    start, end = portfolio["trade_date"].iloc[0].date(), portfolio["trade_date"].iloc[-1].date()
    window = min(WINDOW, len(equity))
    hit_text = _hit_text(hits.hits, hits.position_days) if hit_rate is not None else "no position held yet"
    text = (
        f"Paper (simulated) track record of these signals after trading costs, {start.isoformat()} to "
        f"{end.isoformat()} ({len(equity):,} trading days): {signed_pct(last - 1.0, 1)} since the start, "
        f"{signed_pct(last / base - 1.0, 1)} over the last {window} trading days, currently "
        f"{pct(-min(0.0, float(drawdowns.iloc[-1])), 1)} below its peak (deepest fall "
        f"{pct(-min(0.0, float(drawdowns.min())), 1)}); {hit_text}. No real money was traded and past results do not "
        f"predict future ones."
    )
    return PaperTrackRecord(
        start=start,
        end=end,
        days=len(equity),
        cumulative_return=round(last - 1.0, 8),
        return_20d=round(last / base - 1.0, 8),
        drawdown=round(min(0.0, float(drawdowns.iloc[-1])), 8),
        max_drawdown=round(min(0.0, float(drawdowns.min())), 8),
        hit_rate=None if hit_rate is None else round(hit_rate, 8),
        position_days=hits.position_days,
        text=text,
    )


def _hit_text(hits: int, position_days: int) -> str:
    """Counts first, the share only between the extremes: "1 of 1 made money" is a record, "100%" reads as a promise
    (and the persona contracts reject it), so a short or lucky book never fails its document."""
    share = f" ({pct(hits / position_days)})" if 0 < hits < position_days else ""
    return f"{hits:,} of {position_days:,} position-days made money{share}"
