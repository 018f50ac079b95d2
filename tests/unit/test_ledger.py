"""Paper-trading ledger: one day's P&L recomputed by hand from the signals and the closes; exact-day writes."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from assets.signals.ledger import (
    LedgerConfig,
    build_ledger,
    ledger_summary,
    position_day_hits,
    read_ledger,
    write_ledger,
)
from resources.lake.storage import LakeStorage

DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)]


def _inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    signals = pd.DataFrame(
        {
            "symbol": ["A"] * 4 + ["B"] * 4 + ["A"],
            "signal_date": DAYS + DAYS + [DAYS[0]],
            "horizon": [5] * 8 + [1],
            "size": [0.10, -0.05, 0.0, 0.2, 0.0, 0.25, 0.25, 0.0, 0.9],  # the D+1 row is not the book's horizon
        }
    )
    prices = pd.DataFrame(
        {
            "symbol": ["A"] * 4 + ["B"] * 4,
            "trade_date": pd.to_datetime(DAYS + DAYS),
            "close": [100.0, 102.0, 99.0, 99.0, 10.0, 10.0, 11.0, 10.5],
        }
    )
    return signals, prices


def test_one_days_pnl_by_hand():
    signals, prices = _inputs()
    positions, portfolio = build_ledger(signals, prices, LedgerConfig(horizon=5, cost_bps=10.0))
    a = positions[positions["symbol"] == "A"].set_index("trade_date")
    b = positions[positions["symbol"] == "B"].set_index("trade_date")
    # A: target 0.10 decided on Jan 2, filled at Jan 3's close (102); held over Jan 4 (102 -> 99);
    # on Jan 3 the target becomes -0.05, filled at Jan 4's close: traded -0.15 at 99, cost 0.15 * 10 bp
    day = DAYS[2]
    assert a.loc[day, "position"] == pytest.approx(-0.05)
    assert a.loc[day, "traded"] == pytest.approx(-0.15)
    assert a.loc[day, "fill_price"] == 99.0
    assert a.loc[day, "gross_pnl"] == pytest.approx(0.10 * (99.0 / 102.0 - 1.0))
    assert a.loc[day, "cost"] == pytest.approx(0.15 * 0.001)
    assert a.loc[day, "pnl"] == pytest.approx(0.10 * (99 / 102 - 1) - 0.00015)
    # B: target 0.25 decided Jan 3, filled at Jan 4's close (11): nothing earned yet, entry cost only
    assert b.loc[day, "gross_pnl"] == 0.0 and b.loc[day, "cost"] == pytest.approx(0.25 * 0.001)
    # the portfolio adds the instruments' P&L of the day and compounds
    port = portfolio.set_index("trade_date")
    assert port.loc[day, "pnl"] == pytest.approx(a.loc[day, "pnl"] + b.loc[day, "pnl"])
    expected_equity = (1 + port["pnl"]).cumprod()
    assert port["equity"].tolist() == pytest.approx(expected_equity.tolist())
    # Jan 5: A held -0.05 over 99 -> 99, B held 0.25 over 11 -> 10.5
    assert port.loc[DAYS[3], "gross_pnl"] == pytest.approx(0.25 * (10.5 / 11 - 1))
    assert port.loc[DAYS[3], "drawdown"] == pytest.approx(port.loc[DAYS[3], "equity"] / port["equity"].max() - 1)
    # nothing on the first day: the first decision is filled on the next close
    assert a.loc[DAYS[0], "position"] == 0.0 and a.loc[DAYS[0], "pnl"] == 0.0


def test_hit_rate_counts_position_days_not_signals():
    signals, prices = _inputs()
    prices.loc[7, "close"] = 11.5  # B gains on Jan 5
    positions, _ = build_ledger(signals, prices, LedgerConfig(horizon=5, cost_bps=10.0))
    # held since the previous close: A on Jan 4 (0.10 over 102 -> 99, a loss) and Jan 5 (-0.05 over 99 -> 99, only
    # the exit cost), B on Jan 5 (0.25 over 11 -> 11.5, a gain): five non-zero D+5 signals, three position-days,
    # one hit.
    hits = position_day_hits(positions.sample(frac=1.0, random_state=3))  # row order does not matter
    assert (hits.position_days, hits.hits) == (3, 1)
    assert hits.hit_rate == pytest.approx(1 / 3)
    assert position_day_hits(positions.iloc[0:0]).hit_rate is None
    # the ledger's materialization reports the same figures
    summary = ledger_summary(positions, build_ledger(signals, prices, LedgerConfig(horizon=5, cost_bps=10.0))[1])
    assert (summary["position_days"], summary["hit_rate_per_position_day"]) == (3, pytest.approx(1 / 3))


def test_rows_before_t_do_not_change_when_later_data_is_cut():
    signals, prices = _inputs()
    full, full_port = build_ledger(signals, prices)
    cut_signals = signals[pd.to_datetime(signals["signal_date"]) <= pd.Timestamp(DAYS[2])]
    cut, cut_port = build_ledger(cut_signals, prices[prices["trade_date"] <= pd.Timestamp(DAYS[2])])
    pd.testing.assert_frame_equal(cut, full[full["trade_date"] <= DAYS[2]].reset_index(drop=True))
    pd.testing.assert_frame_equal(cut_port, full_port[full_port["trade_date"] <= DAYS[2]].reset_index(drop=True))


def test_writes_replace_exactly_the_window_days(tmp_path):
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    signals, prices = _inputs()
    positions, portfolio = build_ledger(signals, prices)
    write_ledger(storage, positions, portfolio, DAYS[0], DAYS[3])
    before = read_ledger(storage)
    # rewriting one day with a changed value touches that day only; rewriting it again changes nothing
    changed = portfolio.assign(pnl=portfolio["pnl"].where(portfolio["trade_date"] != DAYS[1], 1.0))
    write_ledger(storage, positions, changed, DAYS[1], DAYS[1])
    write_ledger(storage, positions, changed, DAYS[1], DAYS[1])
    after_positions, after = read_ledger(storage)
    after = after.sort_values("trade_date").reset_index(drop=True)
    old = before[1].sort_values("trade_date").reset_index(drop=True)
    assert len(after) == len(old) and len(after_positions) == len(before[0])
    assert after.loc[after["trade_date"] == DAYS[1], "pnl"].item() == 1.0
    others = after["trade_date"] != DAYS[1]
    pd.testing.assert_frame_equal(after[others], old[others])
    assert len(read_ledger(storage, until=DAYS[1])[1]) == 2
