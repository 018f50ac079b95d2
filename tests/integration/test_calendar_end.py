"""The trading-day reference follows the configured end date: a lake built for 2031 gets mart rows to its end.

The calendar once stopped at 2030-12-31, and the marts with it. Lean on purpose: one instrument per price source
(the prices mart reads all four), four months of the simulated publisher, and only the models fct_prices_daily
needs.

The simulated publisher's own world ends on 2030-12-31 (resources/simulated/world.py HORIZON, a generator
setting outside the calendar); the fixture extends it to 2031 for this test only, so that 2031 data exist.
"""

from datetime import date

import duckdb
import holidays
import pytest

import resources.simulated.cboe as simulated_cboe
import resources.simulated.coinmetrics as simulated_coinmetrics
import resources.simulated.cot.files as simulated_cot_files
import resources.simulated.cot.reports as simulated_cot_reports
import resources.simulated.cot.socrata as simulated_cot_socrata
import resources.simulated.eia as simulated_eia
import resources.simulated.fred as simulated_fred
import resources.simulated.world as simulated_world
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.marts_build import run_dbt, write_reference_tables
from resources.reference import TRADING_DAYS, calendar_end
from resources.settings import get_settings
from resources.sources.registry import ingest_source

START, END = date(2031, 1, 2), date(2031, 4, 30)
UNIVERSE = """
instruments:
  - {symbol: EURUSD, name: Euro in dollars, asset_class: fx, price: {source: fred, series: DEXUSEU}}
  - {symbol: WTI, name: WTI crude, asset_class: commodity, price: {source: eia, series: RWTC}}
  - {symbol: VIX, name: Cboe VIX, asset_class: volatility, price: {source: cboe, series: VIX}}
  - symbol: BTC
    name: Bitcoin
    asset_class: crypto
    calendar: CRYPTO
    price: {source: coinmetrics, series: btc, field: PriceUSD}
"""


@pytest.fixture
def world_through_2031(monkeypatch):
    horizon = date(2031, 12, 31)
    for module in (simulated_world, simulated_fred, simulated_cot_files):
        monkeypatch.setattr(module, "HORIZON", horizon)
    _clear_horizon_caches()
    yield
    _clear_horizon_caches()


def _clear_horizon_caches() -> None:
    """Everything the simulated publisher caches depends on the horizon, and an earlier test in the process may
    have built it up to 2030: clear every lru_cache of its modules."""
    for module in (
        simulated_world,
        simulated_fred,
        simulated_cot_reports,
        simulated_cot_socrata,
        simulated_cot_files,
        simulated_eia,
        simulated_coinmetrics,
        simulated_cboe,
    ):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == module.__name__:
                value.cache_clear()


def test_an_end_date_after_2030_gets_mart_rows_up_to_that_date(tmp_path, monkeypatch, world_through_2031):
    (tmp_path / "universe.yaml").write_text(UNIVERSE)
    monkeypatch.setenv("NEXUS_UNIVERSE_FILE", str(tmp_path / "universe.yaml"))
    monkeypatch.setenv("NEXUS_START_DATE", START.isoformat())
    monkeypatch.setenv("NEXUS_END_DATE", END.isoformat())
    monkeypatch.setenv("NEXUS_PARTITIONS_START", "2030-06-03")
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    simulated_world.world_for(settings.seed)  # built once up front, not inside a publisher request's timeout

    for source in ("fred", "eia", "cboe", "coinmetrics"):
        ingest_source(source, storage, settings, run_id="calendar", start=START, end=END, files=None)
    write_reference_tables(storage, settings)
    days = read_table(storage, TRADING_DAYS).to_pandas()
    nyse = sorted(days.loc[days.calendar == "NYSE", "trade_date"])
    assert max(days.trade_date) == calendar_end(END, date.today()) >= date(2032, 12, 31)
    assert calendar_end(END, date(2026, 12, 4)) == date(2032, 12, 31)  # the year after the end date
    assert calendar_end(date(2025, 12, 31), date(2033, 2, 1)) == date(2034, 12, 31)  # or after today, if later
    assert date(2031, 7, 4) not in nyse and date(2031, 11, 27) not in nyse  # NYSE holidays of 2031
    assert set(holidays.financial_holidays("NYSE", years=2032)) & set(nyse) == set()

    build = ["build", "--select", "+fct_prices_daily", "--indirect-selection", "cautious"]
    run_dbt(build, settings, target_path=tmp_path / "dbt_target")
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select symbol, min(trade_date), max(trade_date), count(*) from marts.fct_prices_daily group by symbol"
        ).fetchall()
    found = {symbol: (first, last, n) for symbol, first, last, n in rows}
    assert set(found) == {"EURUSD", "WTI", "VIX", "BTC"}
    for symbol, (first, last, n) in found.items():
        calendar = [d for d in nyse if START <= d <= END] if symbol != "BTC" else None
        assert last == END, (symbol, first, last)  # 2031-04-30, a Wednesday: rows up to the end date
        if calendar:
            assert n == len(calendar) - calendar.index(first), (symbol, first, last, n)
