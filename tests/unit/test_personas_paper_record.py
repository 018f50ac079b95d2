"""The paper-trading ledger shown to the retail trader and the hedge fund: figures checked by hand, rows after the
document's day ignored, and personas unchanged when no ledger exists."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from assets.personas.common import codes_in
from assets.personas.hedge_fund import build_hedge_fund
from assets.personas.inputs import PersonaInputs
from assets.personas.lake_inputs import load_ledger
from assets.personas.models import HedgeFundOutput, RetailTraderOutput, promises_in
from assets.personas.paper_record import paper_track_record
from assets.personas.retail_trader import build_retail_trader
from assets.signals.ledger import build_ledger, write_ledger
from tests.unit.test_personas_inputs import DAY, make_inputs

D1, D2, D3, D4 = (DAY - timedelta(days=n) for n in (3, 2, 1, 0))  # Tue..Fri, DAY is the document's day
AFTER = DAY + timedelta(days=3)  # known only after the document's day: must be ignored

# portfolio P&L 0, +10%, -5%, +2% -> equity 1, 1.1, 1.045, 1.0659; then +50% after the day
PORTFOLIO = pd.DataFrame(
    {
        "trade_date": [D1, D2, D3, D4, AFTER],
        "pnl": [0.0, 0.10, -0.05, 0.02, 0.50],
        "equity": [1.0, 1.1, 1.045, 1.0659, 1.59885],
        "drawdown": [0.0, 0.0, 1.045 / 1.1 - 1, 1.0659 / 1.1 - 1, 0.0],
    }
)
# A held (position of the day before != 0) on D3 (loss) and D4 (gain); B held on D2, D3, D4 (gain, loss, gain)
# -> 3 winning position-days of 5. B's gain AFTER the day would make it 4 of 6.
POSITIONS = pd.DataFrame(
    {
        "symbol": ["A"] * 5 + ["B"] * 5,
        "trade_date": [D1, D2, D3, D4, AFTER] * 2,
        "position": [0.0, 0.5, 0.5, 0.0, 0.0, 0.2, 0.2, 0.2, 0.2, 0.2],
        "pnl": [0.0, 0.06, -0.03, 0.01, 0.0, -0.001, 0.04, -0.02, 0.01, 0.30],
    }
)


@pytest.fixture(scope="module")
def base() -> PersonaInputs:
    return make_inputs()


def _with_ledger(base: PersonaInputs, positions: pd.DataFrame, portfolio: pd.DataFrame) -> PersonaInputs:
    fields = {k: getattr(base, k) for k in ("signals", "features", "prices", "energy", "track_record", "universe")}
    return PersonaInputs(**fields, ledger_positions=positions, ledger_portfolio=portfolio)


def test_figures_by_hand_and_rows_after_the_day_ignored(base):
    record = paper_track_record(_with_ledger(base, POSITIONS, PORTFOLIO), DAY)
    assert (record.start, record.end, record.days) == (D1, D4, 4)
    assert record.cumulative_return == pytest.approx(0.0659)
    assert record.return_20d == pytest.approx(0.0659)  # shorter than 20 days: since the start
    assert record.drawdown == pytest.approx(1.0659 / 1.1 - 1)
    assert record.max_drawdown == pytest.approx(-0.05)
    assert (record.hit_rate, record.position_days) == (pytest.approx(0.6), 5)
    text = record.text
    assert (
        "+6.6% since the start" in text
        and "3.1% below its peak" in text
        and "3 of 5 position-days made money (60%)" in text
    )
    assert "paper (simulated)" in text.lower() and "after trading costs" in text
    assert f"{D1.isoformat()} to {D4.isoformat()}" in text and not codes_in(text)
    # the day before: D4 and AFTER unknown
    earlier = paper_track_record(_with_ledger(base, POSITIONS, PORTFOLIO), D3)
    assert earlier.end == D3 and earlier.cumulative_return == pytest.approx(0.045)
    assert earlier.hit_rate == pytest.approx(1 / 3)


def test_last_20_trading_days_window(base):
    days = pd.bdate_range(end=DAY, periods=25).date
    portfolio = pd.DataFrame({"trade_date": days, "pnl": 0.01})
    portfolio["equity"] = (1 + portfolio["pnl"]).cumprod()
    portfolio["drawdown"] = 0.0
    record = paper_track_record(_with_ledger(base, POSITIONS.iloc[:0], portfolio), DAY)
    assert record.days == 25 and record.return_20d == pytest.approx(1.01**20 - 1)
    assert record.cumulative_return == pytest.approx(1.01**25 - 1)
    assert record.hit_rate is None and "no position held yet" in record.text


def test_personas_show_the_record_and_go_without_it(base):
    with_ledger = _with_ledger(base, POSITIONS, PORTFOLIO)
    retail, fund = build_retail_trader(with_ledger, DAY), build_hedge_fund(with_ledger, DAY)
    assert retail.paper_track_record == fund.paper_track_record == paper_track_record(with_ledger, DAY)
    assert retail.calls == build_retail_trader(base, DAY).calls  # the record is shown, it changes no call
    for output in (build_retail_trader(base, DAY), build_hedge_fund(base, DAY)):
        assert output.paper_track_record is None
    # a ledger that starts after the day is as good as none
    later = _with_ledger(base, POSITIONS[POSITIONS["trade_date"] == AFTER], PORTFOLIO.tail(1))
    assert build_retail_trader(later, DAY).paper_track_record is None
    # documents written before the field existed stay valid
    for output, model in ((retail, RetailTraderOutput), (fund, HedgeFundOutput)):
        old = output.model_dump(mode="json")
        old.pop("paper_track_record")
        assert model.model_validate(old).paper_track_record is None
        assert "paper_track_record" in model.model_json_schema()["properties"]


def test_lake_ledger_absent_then_read_point_in_time(storage):
    assert load_ledger(storage, DAY) == (None, None)
    days = pd.bdate_range(DAY - timedelta(days=14), AFTER)
    prices = pd.DataFrame({"symbol": "SPX", "trade_date": days, "close": 100 + pd.RangeIndex(len(days)) * 0.5})
    signals = pd.DataFrame({"symbol": "SPX", "signal_date": days.date, "horizon": 5, "size": 0.3})
    positions, portfolio = build_ledger(signals, prices)
    write_ledger(storage, positions, portfolio, days[0].date(), days[-1].date())
    lake_positions, lake_portfolio = load_ledger(storage, DAY)
    assert pd.to_datetime(lake_portfolio["trade_date"]).max() == pd.Timestamp(DAY)
    record = paper_track_record(_with_ledger(make_inputs(), lake_positions, lake_portfolio), DAY)
    expected = portfolio[pd.to_datetime(portfolio["trade_date"]) <= pd.Timestamp(DAY)]
    assert record.cumulative_return == pytest.approx(expected["equity"].iloc[-1] - 1)
    assert record.end == date(DAY.year, DAY.month, DAY.day)


def test_a_book_that_won_every_day_states_counts_not_a_promise(base):
    """A short window with one winning position-day once made the retail document fail its no-promise contract."""
    positions = POSITIONS[(POSITIONS["symbol"] == "A") & POSITIONS["trade_date"].isin([D1, D2, D3])].copy()
    positions["pnl"] = [0.0, 0.0, 0.02]  # A held on D3 only, and gained
    record = paper_track_record(_with_ledger(base, positions, PORTFOLIO.iloc[:3]), D3)
    assert (record.hit_rate, record.position_days) == (1.0, 1)
    assert "1 of 1 position-days made money." in record.text and not promises_in(record.text)
    retail = build_retail_trader(_with_ledger(base, positions, PORTFOLIO.iloc[:3]), D3)
    assert RetailTraderOutput.model_validate(retail.model_dump(mode="json")).paper_track_record == record


def test_hits_counted_from_one_pass_equal_the_ledger_cut_at_each_day(base):
    """The record counts position-days from flags of the whole ledger cut per day: equal to `position_day_hits` of
    the rows known at the day, on shuffled rows with flat days, missing P&L and instruments starting late."""
    import numpy as np

    from assets.personas.paper_record import _hits_until
    from assets.signals.ledger import position_day_hits

    rng = np.random.default_rng(11)
    days = pd.bdate_range("2024-03-01", periods=60)
    positions = pd.DataFrame(
        {
            "symbol": rng.choice(["A", "B", "C"], size=150),
            "trade_date": rng.choice(days, size=150),
            "position": np.where(rng.random(150) < 0.3, 0.0, rng.normal(size=150)),
            "pnl": np.where(rng.random(150) < 0.1, np.nan, rng.normal(size=150)),
        }
    ).drop_duplicates(["symbol", "trade_date"])
    inputs = _with_ledger(base, positions, PORTFOLIO)
    for day in [d.date() for d in days[::3]] + [date(2024, 1, 2), date(2024, 12, 31)]:
        assert _hits_until(inputs, day) == position_day_hits(inputs.ledger_until(day)[0]), day
