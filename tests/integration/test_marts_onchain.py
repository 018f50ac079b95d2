"""On-chain mart: Coin Metrics features as known at decision time, by hand from silver.

Coin Metrics publishes UTC day D at 06:00 UTC on D+1, so the row for trade date D holds day D-1 (at the version
public by D's decision time); every rolling statistic is then a plain window over those D-1 values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from resources.lake.delta import read_table
from resources.sources.coinmetrics.spec import ASSET_METRICS

# One session-wide build shared by every mart test module (imported as a plugin, not per module).


@pytest.fixture(scope="module")
def used(built_marts) -> pd.DataFrame:
    """Wide (asset, observed_date) -> metric values, each in the version public when trade date D+1 was decided."""
    at = built_marts.settings.decision_time_utc
    metrics = read_table(built_marts.storage, ASSET_METRICS).to_pandas()
    metrics["observed_date"] = pd.to_datetime(metrics.observed_date).dt.date
    decision_next_day = [datetime.combine(d + timedelta(days=1), at, tzinfo=UTC) for d in metrics.observed_date]
    public = metrics[metrics.available_at <= pd.Series(decision_next_day, index=metrics.index)]
    latest = public.sort_values("available_at").groupby(["asset", "metric", "observed_date"]).value.last()
    return latest.unstack("metric")


@pytest.fixture(scope="module")
def rows(built_marts) -> pd.DataFrame:
    out = built_marts.query("select * from marts.fct_onchain_daily order by symbol, trade_date")
    for col in ("trade_date", "observed_date"):
        out[col] = pd.to_datetime(out[col]).dt.date
    return out


def test_each_row_holds_the_previous_utc_day(rows):
    assert set(rows.symbol) == {"BTC", "ETH"}
    assert (rows.observed_date == rows.trade_date - timedelta(days=1)).all()
    assert (rows.decision_at - rows.max_available_at_used >= pd.Timedelta(hours=16)).all()  # 06:00 vs 22:00
    assert rows[rows.symbol == "ETH"].hash_rate.isna().all()  # no proof of work: null, not zero


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_features_by_hand_from_the_values_known_each_day(rows, used, symbol):
    mine = rows[rows.symbol == symbol].reset_index(drop=True)
    values = used.loc[symbol.lower()]
    first = mine.trade_date.iloc[0]
    assert mine.mvrv_z_365d.iloc[:199].isna().all() and mine.mvrv_z_365d.iloc[199:].notna().all()
    for i in range(400, len(mine), 263):
        row = mine.iloc[i]
        window = [row.trade_date - timedelta(days=k) for k in range(365, 0, -1)]  # D-365 .. D-1
        window = [d for d in window if d >= first - timedelta(days=1)]
        mvrv = values.CapMVRVCur[window].to_numpy()
        assert row.mvrv == mvrv[-1]
        assert row.mvrv_z_365d == pytest.approx((mvrv[-1] - mvrv.mean()) / mvrv.std(ddof=1), abs=1e-9)
        assert row.mvrv_pct_365d == pytest.approx(np.mean(mvrv <= mvrv[-1]), abs=1e-9)
        active = values.AdrActCnt[window].to_numpy()
        assert row.active_addresses_mom_7d_28d == pytest.approx(active[-7:].mean() / active[-28:].mean() - 1, abs=1e-9)
        day = window[-1]
        supply = values.CapMrktCurUSD[day] / values.PriceUSD[day]
        assert row.top100_supply_share == pytest.approx(values.SplyAdrTop100[day] / supply, abs=1e-9)
        assert (row.nvt_adj, row.vol_30d) == (values.NVTAdj[day], values.VtyDayRet30d[day])
        if symbol == "BTC":
            hash_rate = values.HashRate[window].to_numpy()
            expected = hash_rate[-30:].mean() / hash_rate[-60:].mean() - 1
            assert row.hash_rate_mom_30d_60d == pytest.approx(expected, abs=1e-9)
    # the lake ends 2024-06-28 (marts_fixtures.END): day 06-27 is public at 06:00 that day, so rows run to 06-28
    assert mine.trade_date.iloc[-1] == date(2024, 6, 28)
