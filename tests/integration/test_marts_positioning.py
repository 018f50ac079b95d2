"""COT positioning marts: values by hand from silver, the release-time rules, truncation, and the real CFTC files.

Expectations are computed here in pandas from the silver tables (read_table), never by re-running the marts' SQL.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.lake.delta import read_table, replace_where
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.marts_build import run_dbt, write_reference_tables
from resources.reference import COT_MARKETS, INSTRUMENTS, TRADING_DAYS
from resources.settings import Settings
from resources.sources.cot.spec import TABLES
from resources.sources.eia.spec import DAILY_PRICES, WEEKLY_SERIES
from resources.sources.registry import ingest_source

if TYPE_CHECKING:
    from tests.integration.marts_fixtures import BuiltMarts

REFERENCE = (INSTRUMENTS, COT_MARKETS, TRADING_DAYS)
CATEGORIES = {  # report -> {mart net column: silver stem}
    "legacy": {"commercial": "commercial", "noncommercial": "noncommercial"},
    "tff": {"dealer": "dealer", "asset_manager": "asset_manager", "leveraged_money": "leveraged_funds"},
    "disaggregated": {
        "producer_merchant": "producer_merchant",
        "swap_dealer": "swap_dealer",
        "managed_money": "managed_money",
    },
}


def decision_at(day: date, at: time) -> pd.Timestamp:
    return pd.Timestamp(datetime.combine(day, at), tz="UTC")


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def _silver(storage: LakeStorage, spec: TableSpec) -> pd.DataFrame:
    frame = read_table(storage, spec).to_pandas()
    for column in ("report_date", "period"):
        if column in frame:
            frame[column] = _dates(frame[column])
    return frame


def _markets(built: BuiltMarts) -> pd.DataFrame:
    return read_table(built.storage, COT_MARKETS).to_pandas()


def _releases(built: BuiltMarts) -> pd.DataFrame:
    """(code, report_date) -> release: the later first publication of Legacy and the market's category report."""
    markets = _markets(built)
    firsts = []
    for report in ("legacy", "tff", "disaggregated"):
        rows = _silver(built.storage, TABLES[report])
        rows = rows[rows.futures_only]
        codes = (
            markets.cftc_contract_market_code
            if report == "legacy"
            else markets[markets.report == report].cftc_contract_market_code
        )
        rows = rows[rows.cftc_contract_market_code.isin(codes)]
        firsts.append(rows.groupby(["cftc_contract_market_code", "report_date"]).available_at.min())
    return pd.concat(firsts, axis=1).max(axis=1).rename("released_at").reset_index()


def _as_released(built: BuiltMarts, report: str, weekly: pd.DataFrame) -> pd.DataFrame:
    """Each weekly row's report at the version known at the row's release."""
    rows = _silver(built.storage, TABLES[report])
    rows = rows[rows.futures_only]
    merged = rows.merge(
        weekly[["cftc_contract_market_code", "report_date", "available_at"]],
        how="inner",
        on=["cftc_contract_market_code", "report_date"],
        suffixes=("", "_release"),
    )
    merged = merged[merged.available_at <= merged.available_at_release]
    return merged.sort_values("version").groupby(["cftc_contract_market_code", "report_date"]).tail(1)


def _weekly(built: BuiltMarts) -> pd.DataFrame:
    frame = built.query("select * from marts.fct_cot_positioning_weekly")
    frame["report_date"] = _dates(frame.report_date)
    return frame


def _daily(built: BuiltMarts, where: str = "true") -> pd.DataFrame:
    frame = built.query(f"select * from marts.fct_cot_positioning_daily where {where}")
    frame["trade_date"] = _dates(frame.trade_date)
    frame["report_date"] = _dates(frame.report_date)
    return frame


def test_net_positions_and_shares_are_long_minus_short_over_open_interest(built_marts):
    weekly = _weekly(built_marts)
    markets = _markets(built_marts).set_index("cftc_contract_market_code")
    checked = 0
    for report, categories in CATEGORIES.items():
        known = _as_released(built_marts, report, weekly)
        got = known[["cftc_contract_market_code", "report_date"]].merge(
            weekly, on=["cftc_contract_market_code", "report_date"]
        )
        assert len(got) == len(known) > 0
        for name, stem in categories.items():
            net = (known[f"{stem}_long"] - known[f"{stem}_short"]).to_numpy()
            np.testing.assert_array_equal(got[f"{name}_net"].to_numpy(), net)
            np.testing.assert_allclose(got[f"{name}_net_share"], net / known.open_interest.to_numpy(), rtol=1e-12)
            checked += len(got)
        if report == "legacy":
            continue
        report_of = got.cftc_contract_market_code.map(markets.report)
        assert (report_of == report).all()
        oi = known.open_interest.to_numpy()
        if report == "tff":
            smart = known.dealer_long - known.dealer_short
            speculators = known.leveraged_funds_long - known.leveraged_funds_short
        else:
            smart = (known.producer_merchant_long - known.producer_merchant_short) + (
                known.swap_dealer_long - known.swap_dealer_short
            )
            speculators = known.managed_money_long - known.managed_money_short
        np.testing.assert_allclose(got.smart_money_net_share, smart.to_numpy() / oi, rtol=1e-12)
        np.testing.assert_allclose(got.speculator_net_share, speculators.to_numpy() / oi, rtol=1e-12)
        np.testing.assert_allclose(got.smart_speculator_divergence, (smart - speculators).to_numpy() / oi, atol=1e-15)
    assert checked > 15_000


@pytest.mark.parametrize("code", ["13874A", "067651"])
def test_52_report_statistics_match_a_rolling_window_over_the_silver_shares(built_marts, code):
    """One version per report in the fixture lake, so the shares as released are the silver shares."""
    weekly = _weekly(built_marts)
    report = _markets(built_marts).set_index("cftc_contract_market_code").report[code]
    rows = _silver(built_marts.storage, TABLES[report])
    rows = rows[(rows.cftc_contract_market_code == code) & rows.futures_only].sort_values("report_date")
    assert rows.version.max() == 1
    stem = "leveraged_funds" if report == "tff" else "managed_money"
    speculators = pd.Series(
        ((rows[f"{stem}_long"] - rows[f"{stem}_short"]) / rows.open_interest).to_numpy(), index=rows.report_date
    )
    got = weekly[weekly.cftc_contract_market_code == code].set_index("report_date").sort_index()
    assert list(got.index) == list(speculators.index)

    window = speculators.rolling(52, min_periods=40)
    z = (speculators - window.mean()) / window.std(ddof=1)
    pct = speculators.rolling(52, min_periods=40).apply(lambda w: (w <= w[-1]).mean(), raw=True)
    index = 100 * (speculators - window.min()) / (window.max() - window.min())
    change = speculators.diff().where(speculators.index.to_series().diff() <= pd.Timedelta(days=10))
    for column, expected in [
        ("speculator_z52", z),
        ("speculator_pct52", pct),
        ("speculator_cot_index52", index),
        ("speculator_wow_change", change),
    ]:
        np.testing.assert_allclose(got[column].astype(float), expected, rtol=1e-9, atol=1e-12, err_msg=column)
    assert got.speculator_z52.iloc[:39].isna().all() and got.speculator_z52.iloc[39:].notna().all()

    divergence = got.smart_money_net_share - got.speculator_net_share
    window = divergence.rolling(52, min_periods=40)
    np.testing.assert_allclose(
        got.divergence_z52.astype(float), (divergence - window.mean()) / window.std(ddof=1), rtol=1e-9, atol=1e-12
    )


def test_the_weekly_mart_covers_every_reference_market_with_reports(built_marts):
    weekly = _weekly(built_marts)
    legacy = _silver(built_marts.storage, TABLES["legacy"])
    reference = set(_markets(built_marts).cftc_contract_market_code)
    assert set(weekly.cftc_contract_market_code) == reference & set(legacy.cftc_contract_market_code)
    gold = weekly[weekly.cftc_contract_market_code == "088691"]
    assert (gold.cot_report == "disaggregated").all() and gold.managed_money_net.notna().all()
    assert weekly.futures_only.all()


def test_daily_rows_use_the_latest_report_released_by_decision_time(built_marts):
    daily = _daily(built_marts).sort_values("decision_at")
    releases = _releases(built_marts).sort_values("released_at")
    expected = pd.merge_asof(
        daily[["cftc_contract_market_code", "trade_date", "decision_at"]],
        releases,
        left_on="decision_at",
        right_on="released_at",
        by="cftc_contract_market_code",
        direction="backward",
    )
    merged = daily.merge(expected, on=["cftc_contract_market_code", "trade_date"], suffixes=("", "_expected"))
    assert len(merged) == len(daily) > 10_000
    assert (merged.report_date == merged.report_date_expected).all()
    assert (merged.available_at == merged.released_at).all()
    assert (merged.days_since_report == (merged.trade_date - merged.report_date).dt.days).all()
    at = built_marts.settings.decision_time_utc
    assert (merged.decision_at == [decision_at(d.date(), at) for d in merged.trade_date]).all()


def test_a_tuesday_report_is_used_from_friday_not_before(built_marts):
    releases = _releases(built_marts)
    spx = releases[releases.cftc_contract_market_code == "13874A"].sort_values("report_date").reset_index(drop=True)
    regular = spx[
        (spx.report_date.dt.weekday == 1)
        & (spx.released_at.dt.date == (spx.report_date + pd.Timedelta(days=3)).dt.date)
        & (spx.report_date.diff() == pd.Timedelta(days=7))
        & (spx.report_date >= "2023-03-01")
    ]
    tuesday = regular.report_date.iloc[0]
    daily = _daily(
        built_marts,
        f"cftc_contract_market_code = '13874A' and trade_date between '{tuesday.date()}' and "
        f"'{(tuesday + pd.Timedelta(days=3)).date()}'",
    ).sort_values("trade_date")
    previous = tuesday - pd.Timedelta(days=7)
    assert list(daily.trade_date.dt.weekday) == [1, 2, 3, 4]
    assert list(daily.report_date) == [previous, previous, previous, tuesday]
    friday = daily.iloc[3]
    assert friday.available_at < friday.decision_at  # 15:30 New York is 19:30 or 20:30 UTC, before 22:00 UTC
    assert friday.days_since_report == 3


def test_a_holiday_delayed_report_is_used_only_from_its_actual_release(built_marts):
    releases = _releases(built_marts)
    spx = releases[releases.cftc_contract_market_code == "13874A"].sort_values("report_date")
    spx = spx.assign(previous=spx.report_date.shift(), friday=spx.report_date + pd.Timedelta(days=3))
    delayed = spx[spx.released_at.dt.normalize().dt.tz_localize(None) > spx.friday]
    daily = _daily(built_marts, "cftc_contract_market_code = '13874A'").set_index("trade_date")
    checked = 0
    for row in delayed.itertuples():
        release_day = row.released_at.tz_localize(None).normalize()
        before = daily[(daily.index >= row.friday) & (daily.index < release_day)]
        if before.empty or release_day not in daily.index:
            continue
        # never the delayed report before its release; until then the latest report released by each decision
        # time: the previous week's after a holiday, an older one while a shutdown backlog is being published
        assert (before.report_date < row.report_date).all(), row
        expected = [spx.report_date[spx.released_at <= at].max() for at in before.decision_at]
        assert list(before.report_date) == expected, row
        if release_day - row.friday < pd.Timedelta(days=7):  # a holiday delay: the previous week's report
            assert (before.report_date == row.previous).all(), row
        assert daily.loc[release_day].report_date == row.report_date
        checked += 1
    assert checked >= 5  # Thanksgiving every year, Christmas and New Year weeks, Juneteenth, 4 July


def test_symbols_and_the_signed_speculator_share(built_marts):
    daily = _daily(
        built_marts, "cftc_contract_market_code in ('088691', '097741', '13874A') and trade_date = '2024-03-15'"
    ).set_index("cftc_contract_market_code")
    assert pd.isna(daily.symbol["088691"])
    assert daily.symbol["097741"] == "USDJPY" and daily.cot_sign["097741"] == -1
    assert daily.speculator_net_share_signed["097741"] == -daily.speculator_net_share["097741"]
    assert daily.symbol["13874A"] == "SPX"
    assert daily.speculator_net_share_signed["13874A"] == daily.speculator_net_share["13874A"]


def build_truncated(
    built: BuiltMarts, root: Path, cut: pd.Timestamp, tables: Sequence[TableSpec], select: str
) -> duckdb.DuckDBPyConnection:
    """Copy `tables` keeping rows available by `cut` (reference tables whole) and build `select` on the copy."""
    settings = Settings(lake_uri=str(root / "lake"), duckdb_path=root / "cut.duckdb")
    storage = LakeStorage.from_settings(settings)
    for spec in (*tables, *REFERENCE):
        rows = read_table(built.storage, spec)
        if "available_at" in rows.column_names:
            rows = rows.filter(
                pc.less_equal(rows["available_at"], pa.scalar(cut.to_pydatetime(), rows["available_at"].type))
            )
        replace_where(storage, spec, rows)
    run_dbt(["run", "--select", select], settings, target_path=root / "target")
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    return con


def _same_rows(full: pd.DataFrame, cut: pd.DataFrame, keys: list[str]) -> None:
    full = full.sort_values(keys).reset_index(drop=True)
    cut = cut.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(full, cut, check_exact=True)


def test_truncating_the_lake_leaves_every_row_known_by_then_unchanged(built_marts, tmp_path):
    """Positioning and energy marts on a lake cut at decision_at(T), T the day before Thanksgiving 2023 (one build
    for both areas): that week's COT report comes out on Monday, the gas storage report came out that noon."""
    day = date(2023, 11, 22)
    cut = decision_at(day, built_marts.settings.decision_time_utc)
    tables = [*TABLES.values(), WEEKLY_SERIES, DAILY_PRICES]
    con = build_truncated(built_marts, tmp_path, cut, tables, "+fct_cot_positioning_daily +fct_energy_daily")
    weekly_sql = f"select * from marts.fct_cot_positioning_weekly where available_at <= '{cut}'"
    _same_rows(
        built_marts.query(weekly_sql), con.execute(weekly_sql).df(), ["cftc_contract_market_code", "report_date"]
    )
    daily_sql = f"select * from marts.fct_cot_positioning_daily where trade_date <= '{day}'"
    full_daily = built_marts.query(daily_sql)
    assert full_daily.trade_date.max() == pd.Timestamp(day) and len(full_daily) > 10_000
    _same_rows(full_daily, con.execute(daily_sql).df(), ["cftc_contract_market_code", "trade_date"])
    last_report = con.execute("select max(report_date) from marts.fct_cot_positioning_weekly").fetchone()[0]
    assert last_report == date(2023, 11, 14)

    energy_sql = (
        f"select * from marts.fct_energy_weekly where petroleum_available_at <= '{cut}' and gas_available_at <= '{cut}'"
    )
    _same_rows(built_marts.query(energy_sql), con.execute(energy_sql).df(), ["week_ending"])
    energy_daily_sql = f"select * from marts.fct_energy_daily where trade_date <= '{day}'"
    full_energy = built_marts.query(energy_daily_sql)
    assert full_energy.trade_date.max() == pd.Timestamp(day)
    _same_rows(full_energy, con.execute(energy_daily_sql).df(), ["trade_date"])
    gas_week = con.execute(f"select gas_week_ending from marts.fct_energy_daily where trade_date = '{day}'").fetchone()
    assert gas_week == (date(2023, 11, 17),)  # released at noon New York on the Wednesday before Thanksgiving


def _file_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.txt")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
            rows += [dict(zip(header, (v.strip() for v in row), strict=True)) for row in reader if row]
    return rows


@pytest.mark.real_data
def test_the_real_cftc_files_build_the_positioning_marts(settings, storage, real_data, tmp_path):
    ingest_source("cot", storage, settings, run_id="real", start=None, end=None, files=[real_data / "cot"])
    write_reference_tables(storage, settings)
    run_dbt(
        [
            "build",
            "--select",
            "+fct_cot_positioning_daily",
            "+dim_instruments",
            "--exclude",
            "path:models/staging,resource_type:test",
            "--indirect-selection",
            "cautious",
        ],
        settings,
        target_path=tmp_path / "target",
    )
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        weekly = con.execute("select * from marts.fct_cot_positioning_weekly").df()

    tff = _file_rows(real_data / "cot" / "tff_futures_only")
    spx = [
        r for r in tff if r["cftc_contract_market_code"] == "13874A" and r["report_date_as_yyyy-mm-dd"] == "2022-06-14"
    ]
    assert len(spx) == 1
    expected = int(spx[0]["asset_mgr_positions_long_all"]) - int(spx[0]["asset_mgr_positions_short_all"])
    row = weekly[(weekly.cftc_contract_market_code == "13874A") & (_dates(weekly.report_date) == "2022-06-14")]
    assert row.asset_manager_net.tolist() == [expected]
    assert row.asset_manager_net_share.tolist() == [expected / int(spx[0]["open_interest_all"])]

    in_files = {
        r["cftc_contract_market_code"]
        for folder in ("legacy_futures_only", "tff_futures_only", "disaggregated_futures_only")
        for r in _file_rows(real_data / "cot" / folder)
    }
    reference = set(read_table(storage, COT_MARKETS).column("cftc_contract_market_code").to_pylist())
    assert len(in_files) > 10 * len(reference)  # the files hold every CFTC market; the mart keeps the followed ones
    assert set(weekly.cftc_contract_market_code) == reference & in_files
