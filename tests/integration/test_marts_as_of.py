"""No mart holds a row dated after the day the lake is as of.

The ingests record their as-of date (resources/lake/as_of.py), write_reference_tables turns it into
silver/reference/lake_as_of before every build, and dbt caps the day grids that run ahead of the facts with it
(macros/as_of_cap.sql). The session lake (`built_marts`) is built exactly that way, as of END.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from resources.lake.as_of import lake_as_of
from resources.lake.delta import read_table
from resources.marts_build import run_dbt
from resources.reference import LAKE_AS_OF
from tests.integration.marts_fixtures import END, mart_last_dates

CAPPED = "int_energy__daily_prices_realtime+ fct_cot_positioning_daily+"


def _overruns(path, as_of, decision_time) -> list[tuple[str, str, object]]:
    """(mart, column, last value) for every dated column of every mart that runs past `as_of`."""
    decided = datetime.combine(as_of, decision_time, tzinfo=UTC)
    bad = []
    for name, columns in mart_last_dates(path).items():
        for column, last in columns.items():
            limit = decided if isinstance(last, datetime) else as_of
            if last is not None and last > limit:
                bad.append((name, column, last))
    return bad


@pytest.mark.slow
def test_the_built_lake_caps_every_mart_at_its_as_of_date(built_marts):
    assert lake_as_of(built_marts.storage) == END
    assert read_table(built_marts.storage, LAKE_AS_OF).column("as_of_date").to_pylist() == [END]
    last = mart_last_dates(built_marts.settings.duckdb_path)
    assert len(last) >= 9, last  # every fct_ mart has a dated column
    assert _overruns(built_marts.settings.duckdb_path, END, built_marts.settings.decision_time_utc) == []
    # the capped grids reach the as-of date itself (EIA's slack and the COT forward fill stop exactly there)
    assert last["fct_energy_daily"]["trade_date"] == END and last["fct_cot_positioning_daily"]["trade_date"] == END


@pytest.mark.slow
def test_without_the_cap_the_energy_marts_run_past_the_as_of_date_and_rows_before_it_are_unchanged(
    built_marts, tmp_path
):
    warehouse = tmp_path / "nexus.duckdb"
    shutil.copy(built_marts.settings.duckdb_path, warehouse)
    settings = built_marts.settings.model_copy(update={"duckdb_path": warehouse})
    # an override far ahead lifts the cap: the two-week slack after EIA's and CFTC's last releases shows
    run_dbt(["run", "--select", CAPPED], settings, target_path=tmp_path / "target", as_of_date=END.replace(year=2030))

    uncapped = mart_last_dates(warehouse)
    assert uncapped["fct_energy_daily"]["trade_date"] > END
    assert uncapped["fct_cot_positioning_daily"]["trade_date"] > END
    query = "select * from marts.fct_energy_daily where trade_date <= ? order by trade_date"
    with duckdb.connect(str(built_marts.settings.duckdb_path), read_only=True) as con:
        capped_rows = con.execute(query, [END]).fetchall()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        uncapped_rows = con.execute(query, [END]).fetchall()
    assert capped_rows == uncapped_rows and len(capped_rows) > 100
