"""No mart holds a row dated after the lake's as-of date when the pipeline passes it (dbt var `as_of_date`)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.integration.marts_fixtures import END

DATE_COLUMNS = ("trade_date", "decision_date", "week_ending", "report_date")


def _last_dates(path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        out = {}
        for name in marts:
            columns = {r[0] for r in con.execute(f"describe marts.{name}").fetchall()}
            column = next((c for c in DATE_COLUMNS if c in columns), None)
            if column is not None:
                out[name] = con.execute(f"select max({column}) from marts.{name}").fetchone()[0]
        return out


@pytest.mark.slow
def test_energy_marts_stop_at_the_as_of_date_and_rows_before_it_are_unchanged(built_marts, tmp_path):
    uncapped = _last_dates(built_marts.settings.duckdb_path)
    # without a cap, the two-week slack after EIA's and CFTC's last releases runs past the lake's last day
    assert uncapped["fct_energy_daily"] > END and uncapped["fct_cot_positioning_daily"] > END

    as_of = END  # the day the fixture's lake is as of
    warehouse = tmp_path / "nexus.duckdb"
    shutil.copy(built_marts.settings.duckdb_path, warehouse)
    settings = built_marts.settings.model_copy(update={"duckdb_path": warehouse})
    from resources.marts_build import run_dbt

    run_dbt(
        ["run", "--select", "int_energy__daily_prices_realtime+ fct_cot_positioning_daily+"],
        settings,
        target_path=tmp_path / "target",
        as_of_date=as_of,
    )

    capped = _last_dates(warehouse)
    assert capped.keys() == uncapped.keys()
    for name, last in capped.items():  # every mart, rebuilt or not, ends by the as-of date
        assert last <= as_of, (name, last)
    assert capped["fct_energy_daily"] == as_of and capped["fct_cot_positioning_daily"] == as_of
    query = "select * from marts.fct_energy_daily where trade_date <= ? order by trade_date"
    with duckdb.connect(str(built_marts.settings.duckdb_path), read_only=True) as con:
        before = con.execute(query, [as_of]).fetchall()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = con.execute(query, [as_of]).fetchall()
    assert before == after and len(after) > 100
