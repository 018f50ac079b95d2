"""Energy marts (EIA): values by hand from silver, the release-time rules, and the real EIA files.

Expectations are computed here in pandas from the silver tables (read_table), never by re-running the marts' SQL.
The truncation test covering these marts is in test_marts_positioning.py (one cut build for both areas).
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pytest

from resources.lake.delta import read_table
from resources.marts_build import run_dbt, write_reference_tables
from resources.sources.eia.spec import DAILY_PRICES, WEEKLY_SERIES
from resources.sources.registry import ingest_source

if TYPE_CHECKING:
    from tests.integration.marts_fixtures import BuiltMarts

PETROLEUM = ("WCESTUS1", "WPULEUS3", "WCRFPUS2", "WCRIMUS2", "WCREXUS2")
GAS = "NW2_EPG0_SWO_R48_BCF"


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def _weekly_silver(built: BuiltMarts) -> pd.DataFrame:
    rows = read_table(built.storage, WEEKLY_SERIES).to_pandas()
    rows["period"] = _dates(rows.period)
    assert rows.version.max() == 1  # one snapshot: the value at a release is the silver value
    return rows


def _series(rows: pd.DataFrame, series_id: str) -> pd.Series:
    return rows[rows.series_id == series_id].set_index("period").value.sort_index()


def _same_week_years_back(weeks: pd.DatetimeIndex, years_back: int) -> pd.Series:
    """The week ending of the same ISO week `years_back` ISO years earlier (week 53 -> 52 where the year lacks it)."""
    iso = weeks.isocalendar()
    out = []
    for year, week in zip(iso.year - years_back, iso.week, strict=True):
        has_53 = date(int(year), 12, 28).isocalendar().week == 53
        week = 52 if week == 53 and not has_53 else week
        out.append(pd.Timestamp(date.fromisocalendar(int(year), int(week), 5)))
    return pd.Series(out, index=weeks)


def _seasonal_average(values: pd.Series, weeks: pd.DatetimeIndex) -> pd.Series:
    """Mean of `values` at the same ISO week of the 5 previous ISO years; NaN unless all 5 exist."""
    looked_up = pd.concat([_same_week_years_back(weeks, k).map(values) for k in range(1, 6)], axis=1).astype(float)
    return looked_up.mean(axis=1).where(looked_up.notna().all(axis=1))


def _assert_same_days(got: pd.Series, expected: pd.Series, what: str) -> None:
    pd.testing.assert_series_equal(
        got.astype("datetime64[s]"), expected.astype("datetime64[s]"), check_names=False, obj=what
    )


def _weekly(built: BuiltMarts) -> pd.DataFrame:
    frame = built.query("select * from marts.fct_energy_weekly order by week_ending")
    frame["week_ending"] = _dates(frame.week_ending)
    return frame.set_index("week_ending")


def _daily(built: BuiltMarts) -> pd.DataFrame:
    frame = built.query("select * from marts.fct_energy_daily order by trade_date")
    for column in [c for c in frame if c == "trade_date" or c.endswith(("_date", "_week_ending"))]:
        frame[column] = _dates(frame[column])
    return frame


def test_crude_stock_changes_and_their_five_year_average_come_from_previous_years_only(built_marts):
    rows = _weekly_silver(built_marts)
    weekly = _weekly(built_marts)
    stocks = _series(rows, "WCESTUS1")
    previous = (stocks.index - pd.Timedelta(days=7)).map(stocks)
    change = pd.Series(stocks.to_numpy() - previous.to_numpy(), index=stocks.index)
    average = _seasonal_average(change, stocks.index)

    got = weekly.loc[stocks.index]
    np.testing.assert_array_equal(got.crude_stocks, stocks)
    np.testing.assert_allclose(got.crude_stocks_change, change)
    np.testing.assert_allclose(got.crude_stocks_change_5y_avg, average, rtol=1e-12)
    np.testing.assert_allclose(got.crude_stocks_surprise, change - average, rtol=1e-9, atol=1e-9)
    # The lake starts in 2019: only 2024 has five previous years, so no year ever averaged itself in.
    assert got.crude_stocks_change_5y_avg[got.index.year < 2024].isna().all()
    assert got.crude_stocks_change_5y_avg[got.index.year == 2024].notna().sum() >= 20
    assert got.crude_stocks_surprise_z.isna().all()  # 52 surprises needed, the lake has about 25
    assert (got.iso_week == got.index.isocalendar().week.to_numpy()).all()


def test_levels_and_seasonal_averages_of_utilization_and_working_gas(built_marts):
    rows = _weekly_silver(built_marts)
    weekly = _weekly(built_marts)
    for series_id, column in [
        ("WCRFPUS2", "crude_production"),
        ("WCRIMUS2", "crude_imports"),
        ("WCREXUS2", "crude_exports"),
        ("WPULEUS3", "refinery_utilization"),
    ]:
        values = _series(rows, series_id)
        np.testing.assert_array_equal(weekly.loc[values.index, column], values, err_msg=column)
    utilization = _series(rows, "WPULEUS3")
    np.testing.assert_allclose(
        weekly.loc[utilization.index, "refinery_utilization_5y_avg"],
        _seasonal_average(utilization, utilization.index),
        rtol=1e-12,
    )
    gas = _series(rows, GAS)
    average = _seasonal_average(gas, gas.index)
    got = weekly.loc[gas.index]
    np.testing.assert_array_equal(got.working_gas, gas)
    np.testing.assert_allclose(got.working_gas_5y_avg, average, rtol=1e-12)
    np.testing.assert_allclose(got.working_gas_vs_5y_avg, gas - average, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.working_gas_vs_5y_avg_pct, 100 * (gas - average) / average, rtol=1e-9)
    assert got.working_gas_5y_avg.notna().sum() >= 20


def _releases(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Week ending -> WPSR release (the last petroleum series out) and WNGSR release."""
    first = rows.groupby(["series_id", "period"]).available_at.min().reset_index()
    petroleum = first[first.series_id.isin(PETROLEUM)].groupby("period").available_at.max()
    gas = first[first.series_id == GAS].groupby("period").available_at.max()
    return petroleum, gas


def test_daily_rows_use_the_latest_reports_released_by_decision_time(built_marts):
    daily = _daily(built_marts)
    petroleum, gas = _releases(_weekly_silver(built_marts))
    for releases, column in [(petroleum, "petroleum_week_ending"), (gas, "gas_week_ending")]:
        table = releases.rename("released_at").rename_axis("expected").reset_index().sort_values("released_at")
        expected = pd.merge_asof(
            daily[["trade_date", "decision_at"]], table, left_on="decision_at", right_on="released_at"
        )
        _assert_same_days(daily[column], expected.expected, column)

    days = daily.set_index("trade_date")
    # A regular week: Wednesday has this week's WPSR but last week's WNGSR; Thursday has both.
    assert days.loc["2024-03-13", ["petroleum_week_ending", "gas_week_ending"]].tolist() == [
        pd.Timestamp("2024-03-08"),
        pd.Timestamp("2024-03-01"),
    ]
    assert days.loc["2024-03-14", "gas_week_ending"] == pd.Timestamp("2024-03-08")
    # A holiday-delayed WPSR is used only from its release: MLK Day 2024 moved it to Thursday 18 January.
    assert petroleum[pd.Timestamp("2024-01-12")].tz_convert("America/New_York").day_name() == "Thursday"
    assert days.loc["2024-01-17", "petroleum_week_ending"] == pd.Timestamp("2024-01-05")
    assert days.loc["2024-01-18", "petroleum_week_ending"] == pd.Timestamp("2024-01-12")


def test_daily_prices_are_the_latest_published_by_decision_time_and_curves_add_up(built_marts):
    daily = _daily(built_marts)
    prices = read_table(built_marts.storage, DAILY_PRICES).to_pandas()
    prices["period"] = _dates(prices.period)
    assert prices.version.max() == 1
    for series_id, date_column, price_column in [
        ("RCLC1", "wti_futures_date", "wti_c1"),
        ("RNGWHHD", "ng_spot_date", "ng_spot"),
    ]:
        series = prices[prices.series_id == series_id].sort_values("period")
        # The latest day published by decision time: the running max of days over publication times.
        published = series.groupby("available_at").period.max().cummax().rename("expected").reset_index()
        expected = pd.merge_asof(
            daily[["trade_date", "decision_at"]], published, left_on="decision_at", right_on="available_at"
        )
        _assert_same_days(daily[date_column], expected.expected, series_id)
        price = expected.expected.map(series.set_index("period").value)
        np.testing.assert_array_equal(daily[price_column], price, err_msg=series_id)
    # EIA refreshes prices with the Wednesday WPSR: on Monday 11 March 2024 the newest price is Friday 1 March's.
    monday = daily.set_index("trade_date").loc["2024-03-11"]
    assert monday.wti_futures_date == pd.Timestamp("2024-03-01")

    aligned = daily.dropna(subset=["wti_c1", "wti_c2", "wti_c4", "wti_basis"])
    assert len(aligned) > 1000
    np.testing.assert_allclose(aligned.wti_c1_c2_spread, aligned.wti_c1 - aligned.wti_c2, atol=1e-9)
    np.testing.assert_allclose(aligned.wti_c1_c4_spread, aligned.wti_c1 - aligned.wti_c4, atol=1e-9)
    np.testing.assert_allclose(aligned.wti_roll_yield_annualized, 12 * np.log(aligned.wti_c1 / aligned.wti_c2))
    np.testing.assert_allclose(aligned.wti_basis, aligned.wti_spot - aligned.wti_c1, atol=1e-9)
    assert (aligned.wti_spot_date == aligned.wti_futures_date).all()
    assert (daily.max_available_at_used <= daily.decision_at).all()


def _download_csv(path: Path) -> dict[date, float]:
    """An EIA download CSV as {date: value}: rows after the `Week of` / `Day` header (month/day, padded or not)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = next(i for i, row in enumerate(rows) if row and row[0] in ("Week of", "Day"))
    return {datetime.strptime(r[0], "%m/%d/%Y").date(): float(r[1]) for r in rows[header + 1 :] if r and r[1]}


@pytest.mark.real_data
def test_the_real_eia_files_build_the_energy_marts(settings, storage, real_data, tmp_path):
    ingest_source("eia", storage, settings, run_id="real", start=None, end=None, files=[real_data / "eia"])
    write_reference_tables(storage, settings)
    run_dbt(
        [
            "build",
            "--select",
            "+fct_energy_daily",
            "--exclude",
            "path:models/staging,resource_type:test",
            "--indirect-selection",
            "cautious",
        ],
        settings,
        target_path=tmp_path / "target",
    )
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        weekly = con.execute("select * from marts.fct_energy_weekly where week_ending = '2024-08-30'").df()
        daily = con.execute(
            "select * from marts.fct_energy_daily where trade_date in ('2016-12-20', '2016-12-21') order by 1"
        ).df()

    stocks = _download_csv(real_data / "eia" / "Weekly_U.S._Ending_Stocks_excluding_SPR_of_Crude_Oil.csv")
    assert weekly.crude_stocks_change.tolist() == [stocks[date(2024, 8, 30)] - stocks[date(2024, 8, 23)]]
    # Week 35 of 2019-2023, each change from the file's rows (ISO week of the Friday, as the mart aligns them).
    fridays = [date.fromisocalendar(year, 35, 5) for year in range(2019, 2024)]
    changes = [stocks[d] - stocks[d - timedelta(days=7)] for d in fridays]
    assert math.isclose(weekly.crude_stocks_change_5y_avg.iloc[0], sum(changes) / 5, rel_tol=1e-12)
    # Henry Hub spot: the file's last day (Monday 12 December 2016) is known from Wednesday 21 December's WPSR.
    henry_hub = _download_csv(real_data / "eia" / "Henry_Hub_Natural_Gas_Spot_Price.csv")
    assert daily.ng_spot.tolist() == [henry_hub[date(2016, 12, 9)], henry_hub[date(2016, 12, 12)]]
    assert daily.ng_c1.isna().all()  # no futures files: the curve is null, not zero
