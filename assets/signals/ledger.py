"""Paper-trading ledger: the signals traded on paper, with fills, costs, P&L, equity and drawdown.

Rules (one instrument):
- target: the signed size of the day's signal at the book's horizon (default D+5), decided at D's decision time;
- fill: the next price known after the decision time, the close of the instrument's next trading day; the
  position held after the close of day t is the target decided on the previous trading day;
- cost: NEXUS_COST_BPS per unit of traded fraction of capital, charged on the fill day;
- P&L of day t: the position held since the previous close times the simple return of the close,
  minus the day's cost; equity compounds from 1.0 from the first day of the book, drawdown is from its running
  peak. The portfolio sums the instruments' P&L of each day (capital shared, positions as fractions of it).
A row dated t uses signals up to t-1 and closes up to t only, so cutting the data after T leaves every row <= T
as it was. Days are written exactly (replace_values on the day column), so a rerun of a day is idempotent.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from resources.feeds.datasets import FeedDataset, register
from resources.lake.delta import MergeStats, read_table, replace_values
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec


class LedgerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: int = Field(default=5, description="the signal horizon whose size is the target position")
    cost_bps: float = Field(default=5.0, ge=0, description="per unit of traded fraction of capital")


POSITION_COLUMNS = (
    "symbol", "trade_date", "target", "position", "traded", "fill_price", "close", "ret", "gross_pnl", "cost",
    "pnl", "equity", "drawdown",
)  # fmt: skip
PORTFOLIO_COLUMNS = ("trade_date", "gross_exposure", "net_exposure", "gross_pnl", "cost", "pnl", "equity", "drawdown")

POSITIONS = TableSpec(
    zone="gold",
    name="ledger/positions",
    schema=pa.schema(
        [pa.field("symbol", pa.string(), nullable=False), pa.field("trade_date", pa.date32(), nullable=False)]
        + [pa.field(c, pa.float64()) for c in POSITION_COLUMNS[2:]]
    ),
    keys=("symbol", "trade_date"),
    date_column="trade_date",
    description="Paper-trading ledger per instrument and day: target, position, fill, cost, P&L, equity, drawdown.",
)
PORTFOLIO = TableSpec(
    zone="gold",
    name="ledger/portfolio",
    schema=pa.schema(
        [pa.field("trade_date", pa.date32(), nullable=False)]
        + [pa.field(c, pa.float64()) for c in PORTFOLIO_COLUMNS[1:]]
    ),
    keys=("trade_date",),
    date_column="trade_date",
    description="Paper-trading ledger of the whole book per day: exposure, P&L, equity and drawdown.",
)

# available to client feeds like the signals: the signals' own track record
LEDGER_FEEDS = (
    register(
        FeedDataset(
            name="ledger_positions",
            path=("ledger", "positions"),
            date_column="trade_date",
            description=POSITIONS.description,
        )
    ),
    register(
        FeedDataset(
            name="ledger_portfolio",
            path=("ledger", "portfolio"),
            date_column="trade_date",
            symbol_column=None,
            include_market_wide=True,
            description=PORTFOLIO.description,
        )
    ),
)


def _equity(pnl: pd.Series) -> tuple[pd.Series, pd.Series]:
    equity = (1.0 + pnl).cumprod()
    return equity, equity / equity.cummax() - 1.0


def build_ledger(
    signals: pd.DataFrame, prices: pd.DataFrame, config: LedgerConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(positions per instrument and day, portfolio per day) from the signals and the daily closes.

    `signals`: symbol, signal_date, horizon, size. `prices`: symbol, trade_date, close (each instrument's own
    trading days). The book of an instrument starts on its first signal day.
    """
    config = config or LedgerConfig()
    book = signals[signals["horizon"] == config.horizon][["symbol", "signal_date", "size"]]
    book = book.assign(trade_date=pd.to_datetime(book["signal_date"]))[["symbol", "trade_date", "size"]]
    px = prices[["symbol", "trade_date", "close"]].assign(trade_date=lambda p: pd.to_datetime(p["trade_date"]))
    parts = []
    for symbol, rows in px[px["symbol"].isin(book["symbol"].unique())].groupby("symbol", sort=True):
        rows = rows.sort_values("trade_date").merge(
            book[book["symbol"] == symbol], on=["symbol", "trade_date"], how="left"
        )
        first = rows.index[rows["size"].notna()]
        if len(first) == 0:
            continue
        rows = rows.loc[first[0] :].reset_index(drop=True)
        target = rows["size"].fillna(0.0)
        position = target.shift(1).fillna(0.0)  # filled at the next close after the decision
        traded = position.diff().fillna(position)
        close = rows["close"].astype("float64")
        ret = (close / close.shift(1) - 1.0).fillna(0.0)
        gross = position.shift(1).fillna(0.0) * ret
        cost = traded.abs() * config.cost_bps * 1e-4
        pnl = gross - cost
        equity, drawdown = _equity(pnl)
        parts.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": rows["trade_date"],
                    "target": target,
                    "position": position,
                    "traded": traded,
                    "fill_price": np.where(traded != 0, close, np.nan),
                    "close": close,
                    "ret": ret,
                    "gross_pnl": gross,
                    "cost": cost,
                    "pnl": pnl,
                    "equity": equity,
                    "drawdown": drawdown,
                }
            )
        )
    positions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(POSITION_COLUMNS))
    daily = positions.groupby("trade_date", sort=True).agg(
        gross_exposure=("position", lambda p: p.abs().sum()),
        net_exposure=("position", "sum"),
        gross_pnl=("gross_pnl", "sum"),
        cost=("cost", "sum"),
        pnl=("pnl", "sum"),
    )
    daily["equity"], daily["drawdown"] = _equity(daily["pnl"])
    portfolio = daily.reset_index()[list(PORTFOLIO_COLUMNS)]
    for frame in (positions, portfolio):
        frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.date
    return positions[list(POSITION_COLUMNS)], portfolio


class PositionDayHits(BaseModel):
    """The book's hit rate counted per position-day: one instrument held for one day, P&L after costs."""

    model_config = ConfigDict(frozen=True)

    position_days: int
    hits: int

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.position_days if self.position_days else None


def position_day_hits(positions: pd.DataFrame) -> PositionDayHits:
    """Hits among instrument-days that held a paper position since the previous close (a P&L after costs > 0).

    Why per position-day and not per signal: a signal is a forecast, the ledger is what following it earned; a
    5-day signal repeated five days running is five days of exposure, each with its own gain or loss, and FLAT
    days hold nothing and cannot hit or miss.
    """
    ordered = positions.sort_values(["symbol", "trade_date"], kind="stable")
    held = ordered.groupby("symbol", sort=False)["position"].shift(1).fillna(0.0) != 0
    pnl = ordered.loc[held, "pnl"].astype("float64")
    return PositionDayHits(position_days=len(pnl), hits=int((pnl > 0).sum()))


def ledger_summary(positions: pd.DataFrame, portfolio: pd.DataFrame) -> dict[str, float | int | None]:
    """What a materialization of the ledger reports: days in the book, last equity and drawdown, and the hit rate
    per position-day with the number of position-days it counts."""
    tail = portfolio.tail(1)
    hits = position_day_hits(positions)
    return {
        "days_in_book": len(portfolio),
        "equity": float(tail["equity"].iloc[0]) if len(tail) else 1.0,
        "drawdown": float(tail["drawdown"].iloc[0]) if len(tail) else 0.0,
        "position_days": hits.position_days,
        "hit_rate_per_position_day": hits.hit_rate,
    }


def write_ledger(
    storage: LakeStorage, positions: pd.DataFrame, portfolio: pd.DataFrame, start: date, end: date
) -> dict[str, MergeStats]:
    """Replace exactly the days in [start, end] of both ledger tables (idempotent; other days untouched)."""
    out = {}
    for spec, frame in ((POSITIONS, positions), (PORTFOLIO, portfolio)):
        days = pd.to_datetime(frame["trade_date"])
        rows = frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
        table = pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False)
        values = sorted(set(pd.to_datetime(rows["trade_date"]).dt.date))
        out[spec.name] = replace_values(storage, spec, table, column="trade_date", values=values)
    return out


def read_ledger(storage: LakeStorage, until: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ledger as the personas and the PDF would show it: (positions, portfolio), up to `until` included."""
    filters = [("trade_date", "<=", until)] if until else None
    return (
        read_table(storage, POSITIONS, filters=filters).to_pandas(),
        read_table(storage, PORTFOLIO, filters=filters).to_pandas(),
    )


__all__ = [
    "PORTFOLIO",
    "POSITIONS",
    "LedgerConfig",
    "build_ledger",
    "read_ledger",
    "write_ledger",
]


def ledger_png(positions: pd.DataFrame, portfolio: pd.DataFrame) -> bytes:
    """Equity and drawdown of the paper book (portfolio, and each instrument's equity beneath)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True, gridspec_kw={"height_ratios": [2, 1, 2]})
    dates = pd.to_datetime(portfolio["trade_date"])
    axes[0].plot(dates, portfolio["equity"], color="black", lw=1.2)
    axes[0].set_title("Paper-trading ledger: portfolio equity (after costs)")
    axes[0].set_ylabel("equity (start 1.0)")
    axes[1].fill_between(dates, portfolio["drawdown"], 0, color="firebrick", alpha=0.5)
    axes[1].set_ylabel("drawdown")
    colors = plt.get_cmap("tab20").colors  # distinct for up to 20 instruments (tab10 repeats after 10)
    for i, (symbol, rows) in enumerate(positions.groupby("symbol", sort=True)):
        color = colors[(2 * i) % 20 + (2 * i) // 20]
        axes[2].plot(pd.to_datetime(rows["trade_date"]), rows["equity"], lw=0.8, label=str(symbol), color=color)
    axes[2].set_ylabel("equity per instrument")
    axes[2].legend(ncol=6, fontsize=7, loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
