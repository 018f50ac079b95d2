"""Prices and labels marts: values by hand arithmetic from silver, and their point-in-time properties.

Expectations are computed here in pandas from the silver tables (the versions each publisher put out, with their
available_at), never by re-running the models' SQL: "the close known at D" is, among the versions public by D at
the decision time, the latest observation date in its latest version.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from resources.lake.delta import read_table, table_uri
from resources.lake.storage import LakeStorage
from resources.marts_build import run_dbt, write_reference_tables
from resources.reference import INSTRUMENTS, TRADING_DAYS
from resources.settings import Settings
from resources.sources.cboe.spec import INDEX_CLOSES
from resources.sources.coinmetrics.spec import ASSET_METRICS
from resources.sources.eia.spec import DAILY_PRICES
from resources.sources.fred.spec import OBSERVATIONS
from resources.sources.registry import ingest_source

# One session-wide build shared by every mart test module (imported as a plugin, not per module).

FEATURE_MARTS = ("fct_prices_daily", "fct_macro_daily", "fct_onchain_daily")
HORIZONS = (1, 2, 3, 5, 7, 10)


def decision_ts(day: date, at: time) -> pd.Timestamp:
    return pd.Timestamp(datetime.combine(day, at, tzinfo=UTC))


def as_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.date


def trading_days(storage: LakeStorage, calendar: str) -> list[date]:
    days = read_table(storage, TRADING_DAYS).to_pandas()
    return sorted(as_dates(days.loc[days.calendar == calendar, "trade_date"]))


def price_versions(storage: LakeStorage) -> pd.DataFrame:
    """Every non-null price version of every instrument, from the silver table its price_source names."""
    instruments = read_table(storage, INSTRUMENTS).to_pandas()
    fred = read_table(storage, OBSERVATIONS).to_pandas()
    eia = read_table(storage, DAILY_PRICES).to_pandas()
    cboe = read_table(storage, INDEX_CLOSES).to_pandas()
    cm = read_table(storage, ASSET_METRICS).to_pandas()
    frames = []
    for row in instruments.itertuples():
        if row.price_source == "fred":
            f = fred[fred.series_id == row.price_series]
            f = f.rename(columns={"observation_date": "observed_date", "value": "close"})
        elif row.price_source == "eia":
            f = eia[eia.series_id == row.price_series].rename(columns={"period": "observed_date", "value": "close"})
        elif row.price_source == "cboe":
            f = cboe[cboe.index_symbol == row.price_series]
        else:
            f = cm[(cm.asset == row.price_series) & (cm.metric == row.price_field)].rename(columns={"value": "close"})
        f = f.loc[f.close.notna(), ["observed_date", "close", "available_at"]].assign(symbol=row.symbol)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["observed_date"] = as_dates(out.observed_date)
    return out.sort_values(["symbol", "observed_date", "available_at"], ignore_index=True)


def known_closes(versions: pd.DataFrame, days: list[date], at: time) -> dict[date, tuple[date, float]]:
    """For each day: (observation date, value) of the latest observation public by its decision time."""
    out = {}
    for day in days:
        known = versions[versions.available_at <= decision_ts(day, at)]
        latest = known[known.observed_date == known.observed_date.max()]
        out[day] = (latest.observed_date.iloc[-1], float(latest.close.iloc[-1]))
    return out


def query(settings: Settings, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).df()


def mart(built_marts, sql: str) -> pd.DataFrame:
    df = built_marts.query(sql)
    for col in ("trade_date", "observed_date", "entry_observed_date"):
        if col in df:
            df[col] = as_dates(df[col])
    return df


@pytest.fixture(scope="module")
def versions(built_marts) -> pd.DataFrame:
    return price_versions(built_marts.storage)


def test_spx_returns_and_volatility_are_log_ratios_of_closes_known_days_apart(built_marts, versions):
    at = built_marts.settings.decision_time_utc
    days = trading_days(built_marts.storage, "NYSE")
    rows = mart(built_marts, "select * from marts.fct_prices_daily where symbol = 'SPX' order by trade_date")
    rows = rows.set_index("trade_date")
    sample = list(rows.index[80::97])
    need = sorted({days[days.index(d) - k] for d in sample for k in range(21)})
    known = known_closes(versions[versions.symbol == "SPX"], need, at)

    def close(day: date, back: int) -> float:
        return known[days[days.index(day) - back]][1]

    for day in sample:
        row = rows.loc[day]
        assert (row.observed_date, row.close) == known[day]
        assert row.observation_age_days == (day - row.observed_date).days
        for n in (1, 5, 20):
            assert row[f"return_{n}d"] == pytest.approx(math.log(close(day, 0) / close(day, n)), abs=1e-9)
        returns = np.diff(np.log([close(day, k) for k in range(20, -1, -1)]))
        assert row.realized_vol_20d == pytest.approx(returns.std(ddof=1) * math.sqrt(252), abs=1e-9)
    # FRED posts a close on the next business day: at 22:00 UTC the close known is never today's
    assert (rows.observed_date < rows.index).all()
    assert len(sample) >= 10


def test_every_instrument_close_is_the_version_known_at_decision_time(built_marts, versions):
    at = built_marts.settings.decision_time_utc
    rows = mart(built_marts, "select * from marts.fct_prices_daily where dayofmonth(trade_date) in (3, 17)")
    assert set(rows.symbol) == set(versions.symbol)
    for symbol, group in rows.groupby("symbol"):
        known = known_closes(versions[versions.symbol == symbol], list(group.trade_date), at)
        got = {r.trade_date: (r.observed_date, r.close) for r in group.itertuples()}
        assert got == known, symbol
    assert (rows.max_available_at_used <= rows.decision_at).all()


def test_yield_returns_use_duration_and_crypto_volatility_365_days(built_marts, versions):
    at = built_marts.settings.decision_time_utc
    nyse = trading_days(built_marts.storage, "NYSE")
    ust = mart(built_marts, "select * from marts.fct_prices_daily where symbol = 'UST10Y'").set_index("trade_date")
    for day in list(ust.index[30::211]):
        i = nyse.index(day)
        known = known_closes(versions[versions.symbol == "UST10Y"], [nyse[i], nyse[i - 1], nyse[i - 5]], at)
        y0, y1, y5 = (known[nyse[i - k]][1] for k in (0, 1, 5))
        assert ust.loc[day, "close"] == y0  # the level stays the yield
        assert ust.loc[day, "return_1d"] == pytest.approx(-8.5 * (y0 - y1) / 100, abs=1e-9)
        assert ust.loc[day, "return_5d"] == pytest.approx(-8.5 * (y0 - y5) / 100, abs=1e-9)

    btc = mart(built_marts, "select * from marts.fct_prices_daily where symbol = 'BTC' order by trade_date")
    price = versions[versions.symbol == "BTC"].set_index("observed_date").close
    # Coin Metrics publishes day D at 06:00 UTC on D+1: the row for D holds D-1's price
    assert (btc.observed_date == btc.trade_date - timedelta(days=1)).all()
    row = btc.iloc[500]
    closes = [price[row.trade_date - timedelta(days=k)] for k in range(21, 0, -1)]
    expected = np.diff(np.log(closes)).std(ddof=1) * math.sqrt(365)
    assert row.realized_vol_20d == pytest.approx(expected, abs=1e-9)
    assert row.close == closes[-1]


def test_labels_are_log_ratios_of_first_published_closes_ahead(built_marts, versions):
    labels = mart(built_marts, "select * from marts.fct_labels_daily")
    for symbol, duration, calendar in (("SPX", None, "NYSE"), ("UST10Y", 8.5, "NYSE"), ("BTC", None, "CRYPTO")):
        # first publication of each observation: a later revision never rewrites a label
        ordered = versions[versions.symbol == symbol].sort_values("available_at")
        final = ordered.groupby("observed_date").close.first()
        days = [d for d in trading_days(built_marts.storage, calendar) if final.index[0] <= d <= final.index[-1]]
        closes = final.reindex(days).ffill()
        rows = labels[labels.symbol == symbol].set_index("trade_date").sort_index()
        assert list(rows.index) == days
        for i in range(3, len(days), 157):
            for h in HORIZONS:
                got = rows.iloc[i][f"fwd_return_{h}d"]
                if i + h >= len(days):
                    assert pd.isna(got)
                    continue
                c0, ch = closes.iloc[i], closes.iloc[i + h]
                expected = -duration * (ch - c0) / 100 if duration else math.log(ch / c0)
                assert got == pytest.approx(expected, abs=1e-9), (symbol, days[i], h)
                # the label is known once both closes are published, never before the exit day's decision time
                assert rows.iloc[i][f"label_known_at_{h}d"] >= pd.Timestamp(days[i + h], tz="UTC")
        assert rows.iloc[-1][[f"fwd_return_{h}d" for h in HORIZONS]].isna().all()


def test_no_feature_model_reads_labels_or_looks_forward(built_marts):
    manifest = json.loads((built_marts.target / "manifest.json").read_text())
    nodes, parents = manifest["nodes"], manifest["parent_map"]
    labels = "model.nexus.fct_labels_daily"
    assert all(c.startswith(("test.", "unit_test.")) for c in manifest["child_map"][labels])
    forward = re.compile(r"\blead\s*\(|\bfollowing\b", re.IGNORECASE)
    assert forward.search(nodes[labels]["compiled_code"])  # the check does see forward windows

    def ancestors(node: str) -> set[str]:
        seen: set[str] = set()
        todo = [node]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent.startswith("model.") and parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for name in FEATURE_MARTS:
        lineage = {f"model.nexus.{name}"} | ancestors(f"model.nexus.{name}")
        assert labels not in lineage
        for node in lineage:
            assert not forward.search(nodes[node]["compiled_code"]), node


def _lake_copy(built_marts, tmp_path: Path) -> Settings:
    shutil.copytree(built_marts.settings.lake_uri, tmp_path / "lake")
    return Settings(
        lake_uri=str(tmp_path / "lake"),
        duckdb_path=tmp_path / "warehouse.duckdb",
        published_duckdb_path=tmp_path / "published.duckdb",
        start_date=built_marts.settings.start_date,
        end_date=built_marts.settings.end_date,
    )


def test_cutting_the_lake_after_t_leaves_earlier_rows_unchanged(built_marts, tmp_path):
    """Remove every fact published after T's decision time, rebuild: each row dated <= T is byte-identical."""
    cut_day = date(2023, 3, 15)
    settings = _lake_copy(built_marts, tmp_path)
    storage = LakeStorage.from_settings(settings)
    cut = decision_ts(cut_day, settings.decision_time_utc)
    for spec in (OBSERVATIONS, DAILY_PRICES, INDEX_CLOSES, ASSET_METRICS):
        table = read_table(storage, spec)
        kept = table.filter(
            pc.less_equal(table["available_at"], pa.scalar(cut.to_pydatetime(), table["available_at"].type))
        )
        write_deltalake(table_uri(storage, spec), kept, mode="overwrite")
    run_dbt(["run", "--select", *(f"+{m}" for m in FEATURE_MARTS)], settings, target_path=tmp_path / "target")

    for name in FEATURE_MARTS:
        keys = "trade_date" if name == "fct_macro_daily" else "symbol, trade_date"
        sql = f"select * from marts.{name} where trade_date <= '{cut_day}' order by {keys}"
        cut_rows, full_rows = query(settings, sql), built_marts.query(sql)
        assert cut_rows.max_available_at_used.max() <= cut
        pd.testing.assert_frame_equal(cut_rows, full_rows, check_exact=True, obj=name)
        assert len(cut_rows) > 1000


def _csv(path: Path, date_column: str, fmt: str | None = None) -> pd.DataFrame:
    frame = pd.read_csv(path, na_values=[".", ""])
    frame.index = pd.to_datetime(frame[date_column], format=fmt).dt.date
    return frame


@pytest.mark.real_data
def test_real_files_build_every_mart_of_the_area(real_data, tmp_path):
    """One lake of real files (FRED, Cboe, Coin Metrics, EIA) builds the four marts; one value each by hand."""
    settings = Settings(
        lake_uri=str(tmp_path / "lake"),
        duckdb_path=tmp_path / "warehouse.duckdb",
        published_duckdb_path=tmp_path / "published.duckdb",
    )
    storage = LakeStorage.from_settings(settings)
    for source in ("fred", "cboe", "coinmetrics", "eia"):
        ingest_source(source, storage, settings, run_id="real", start=None, end=None, files=[real_data / source])
    write_reference_tables(storage, settings)
    marts = (
        "fct_prices_daily",
        "fct_labels_daily",
        "fct_macro_daily",
        "fct_onchain_daily",
        "fct_vol_term_structure_daily",
    )
    select = ["--select", *(f"+{m}" for m in marts), "--indirect-selection", "cautious"]
    run_dbt(["build", *select], settings, target_path=tmp_path / "target")

    def one(sql: str) -> pd.Series:
        rows = query(settings, sql)
        assert len(rows) == 1, sql
        return rows.iloc[0]

    # prices and labels: Cboe's close is public at 16:15 New York on the day, so D's row holds D's close
    vix = _csv(real_data / "cboe" / "VIX_History.csv", "DATE", "%m/%d/%Y").CLOSE
    day, day_5, day_next = date(2024, 3, 15), date(2024, 3, 8), date(2024, 3, 18)  # NYSE days 5 apart, next
    row = one(f"select * from marts.fct_prices_daily where symbol = 'VIX' and trade_date = '{day}'")
    assert row.close == pytest.approx(vix[day], abs=1e-9)
    assert row.return_5d == pytest.approx(math.log(vix[day] / vix[day_5]), abs=1e-9)
    label = one(f"select * from marts.fct_labels_daily where symbol = 'VIX' and trade_date = '{day}'")
    assert label.fwd_return_1d == pytest.approx(math.log(vix[day_next] / vix[day]), abs=1e-9)
    # the term structure inverted in the March 2020 crash: VIX above VIX3M, by the files' closes
    vix3m = _csv(real_data / "cboe" / "VIX3M_History.csv", "DATE", "%m/%d/%Y").CLOSE
    crash = date(2020, 3, 16)
    vol = one(f"select * from marts.fct_vol_term_structure_daily where trade_date = '{crash}'")
    assert vol.vix_vix3m_ratio == pytest.approx(vix[crash] / vix3m[crash], abs=1e-9)
    assert vol.vix_vix3m_ratio > 1 and vol.term_structure_state == "backwardation"
    symbols = set(query(settings, "select distinct symbol from marts.fct_prices_daily").symbol)
    assert symbols == {"VIX", "UST10Y", "EURUSD", "NATGAS", "BTC"}  # no file for SP500, RWTC, ETH...

    # macro: a CSV download's vintage is FRED's next business day, so Friday 2019-06-14 knows Thursday's yields;
    # T10Y2Y.csv is used as published, and without a T10Y3M file the 10y-3m curve is computed
    fred = {s: _csv(real_data / "fred" / f"{s}.csv", "DATE")[s] for s in ("DGS10", "DGS2", "DGS3MO")}
    thursday = date(2019, 6, 13)
    macro = one("select * from marts.fct_macro_daily where trade_date = '2019-06-14'")
    assert macro.dgs10 == fred["DGS10"][thursday]
    assert macro.curve_10y2y == pytest.approx(fred["DGS10"][thursday] - fred["DGS2"][thursday], abs=1e-9)
    assert macro.curve_10y3m == pytest.approx(fred["DGS10"][thursday] - fred["DGS3MO"][thursday], abs=1e-9)
    assert pd.isna(macro.usd_broad)  # no DTWEXBGS file: null, not zero

    # on-chain: the row for D holds Coin Metrics' D-1; the z-score over the 365 values known on D
    mvrv = _csv(real_data / "coinmetrics" / "btc.csv", "date").CapMVRVCur
    day = date(2018, 6, 30)
    window = mvrv[[day - timedelta(days=k) for k in range(365, 0, -1)]].to_numpy()
    onchain = one(f"select * from marts.fct_onchain_daily where symbol = 'BTC' and trade_date = '{day}'")
    assert onchain.mvrv == window[-1]
    assert onchain.mvrv_z_365d == pytest.approx((window[-1] - window.mean()) / window.std(ddof=1), abs=1e-9)
