"""Macro mart: yields, curves and dollar as known from FRED's vintages, by hand from silver; revisions stay in time.

Expectations come from the silver FRED observations in pandas: on day D the value known is, among the vintages
public by D at the decision time (non-null values), the latest observation date in its latest vintage.
"""

from __future__ import annotations

import math
import shutil
from datetime import UTC, date, datetime, time

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from resources.lake.delta import merge_versioned, read_table
from resources.lake.storage import LakeStorage
from resources.marts_build import run_dbt
from resources.reference import TRADING_DAYS
from resources.settings import Settings
from resources.sources.fred.calendar import is_business_day, vintage_available_at
from resources.sources.fred.spec import OBSERVATIONS

# One session-wide build shared by every mart test module (imported as a plugin, not per module).

SERIES = ("DGS10", "DGS2", "DGS3MO", "T10Y2Y", "T10Y3M", "DTWEXBGS")


def decision_ts(day: date, at: time) -> pd.Timestamp:
    return pd.Timestamp(datetime.combine(day, at, tzinfo=UTC))


def macro_rows(query) -> pd.DataFrame:
    rows = query("select * from marts.fct_macro_daily order by trade_date")
    for col in ("trade_date", "dgs10_observed_date"):
        rows[col] = pd.to_datetime(rows[col]).dt.date
    return rows.set_index("trade_date")


def known(vintages: pd.DataFrame, series: str, day: date, at: time) -> tuple[date, float] | None:
    """(observation date, value) of the latest observation of `series` public by day's decision time."""
    v = vintages[(vintages.series_id == series) & (vintages.available_at <= decision_ts(day, at))]
    if v.empty:
        return None
    latest = v[v.observation_date == v.observation_date.max()].sort_values(["available_at", "realtime_start"])
    return latest.observation_date.iloc[-1], float(latest.value.iloc[-1])


@pytest.fixture(scope="module")
def vintages(built_marts) -> pd.DataFrame:
    fred = read_table(built_marts.storage, OBSERVATIONS).to_pandas()
    fred = fred[fred.series_id.isin(SERIES) & fred.value.notna()].copy()
    fred["observation_date"] = pd.to_datetime(fred.observation_date).dt.date
    return fred


def test_values_curves_and_changes_are_those_known_at_decision_time(built_marts, vintages):
    at = built_marts.settings.decision_time_utc
    rows = macro_rows(built_marts.query)
    days = list(rows.index)
    for i in range(25, len(days), 61):
        day = days[i]
        now = {s: known(vintages, s, day, at) for s in SERIES}
        back = {n: {s: known(vintages, s, days[i - n], at) for s in ("DGS10", "DGS2", "T10Y2Y")} for n in (5, 20)}
        row = rows.loc[day]
        assert (row.dgs10_observed_date, row.dgs10) == now["DGS10"]
        assert (row.dgs2, row.dgs3mo, row.usd_broad) == (now["DGS2"][1], now["DGS3MO"][1], now["DTWEXBGS"][1])

        def curve(k: dict) -> float:
            fresh = k["T10Y2Y"][0] >= max(k["DGS10"][0], k["DGS2"][0])
            return k["T10Y2Y"][1] if fresh else k["DGS10"][1] - k["DGS2"][1]

        assert row.curve_10y2y == pytest.approx(curve(now), abs=1e-9)
        for n in (5, 20):
            assert row[f"dgs10_change_{n}d_bp"] == pytest.approx(
                100 * (now["DGS10"][1] - back[n]["DGS10"][1]), abs=1e-6
            )
            assert row[f"curve_10y2y_change_{n}d_bp"] == pytest.approx(100 * (curve(now) - curve(back[n])), abs=1e-6)
        usd_20 = known(vintages, "DTWEXBGS", days[i - 20], at)[1]
        assert row.usd_broad_return_20d == pytest.approx(math.log(now["DTWEXBGS"][1] / usd_20), abs=1e-9)
    # the NYSE calendar, no gaps: lags of n rows are n trading days
    nyse = read_table(built_marts.storage, TRADING_DAYS).to_pandas()
    nyse = sorted(pd.to_datetime(nyse.loc[nyse.calendar == "NYSE", "trade_date"]).dt.date)
    assert days == [d for d in nyse if days[0] <= d <= days[-1]]
    # the H.10 dollar comes weekly: on most days it is the same as the day before
    assert (rows.usd_broad.diff() == 0).mean() > 0.6
    assert (rows.max_available_at_used <= rows.decision_at).all()


def test_a_later_vintage_changes_no_row_before_its_realtime_start(built_marts, tmp_path):
    """Ingest into a copy of the lake a DGS10 vintage dated M, rebuild: rows before M are unchanged, M uses it.

    A real-time level only shows a revision while the revised observation is still the latest known, so M is a
    NYSE trading day on which FRED does not publish (a federal holiday such as Columbus Day): its row still holds
    the observation of two business days before, and the new vintage of that observation lands on M itself.
    """
    before = macro_rows(built_marts.query)
    m = next(d for d in before.index if d >= date(2020, 1, 1) and not is_business_day(d))
    revised, value = before.loc[m, "dgs10_observed_date"], before.loc[m, "dgs10"]
    assert revised < before.index[before.index.get_loc(m) - 1]  # M still holds an older observation

    shutil.copytree(built_marts.settings.lake_uri, tmp_path / "lake")
    settings = Settings(
        lake_uri=str(tmp_path / "lake"),
        duckdb_path=tmp_path / "warehouse.duckdb",
        published_duckdb_path=tmp_path / "published.duckdb",
    )
    storage = LakeStorage.from_settings(settings)
    vintage = {
        "series_id": ["DGS10"],
        "observation_date": [revised],
        "realtime_start": [m],
        "value": [value + 0.5],
        "vintage_inferred": [False],
        "available_at": [vintage_available_at(m)],
        "available_at_derived": [True],
        "ingested_at": [datetime.now(UTC)],
        "source_sha256": ["test-extra-vintage"],
    }
    schema = pa.schema([f for f in OBSERVATIONS.schema if f.name not in ("version", "is_revision")])
    now = datetime.now(UTC)
    stats = merge_versioned(storage, OBSERVATIONS, pa.table(vintage, schema=schema), revision_available_at=now)
    assert stats.added == 1  # a new vintage is a new key, not a restatement of the old one
    run_dbt(
        ["build", "--select", "+fct_macro_daily", "--indirect-selection", "cautious"],
        settings,
        target_path=tmp_path / "target",
    )

    def query(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql).df()

    after = macro_rows(query)
    pd.testing.assert_frame_equal(after[after.index < m], before[before.index < m], check_exact=True)
    assert after.loc[m, "dgs10"] == pytest.approx(value + 0.5, abs=1e-12)
    assert after.loc[m, "max_available_at_used"] == pd.Timestamp(vintage_available_at(m))
    later = before.index[before.index.get_loc(m) + 5]  # its 5-day change starts from M's revised value
    assert after.loc[later, "dgs10_change_5d_bp"] == pytest.approx(before.loc[later, "dgs10_change_5d_bp"] - 50)
    assert after.loc[later, "dgs10"] == before.loc[later, "dgs10"]
