"""The `row_checks` generic test (a model's unique key, not-null, range and point-in-time rules in one query)
fails on bad rows and names the rules they break; it passes on the built marts."""

import json
import shutil

import duckdb

from resources.marts_build import run_dbt

SELECT = ["--select", "row_checks_fct_prices_daily"]


def test_row_checks_fail_on_broken_rules_and_name_them(built_marts, tmp_path):
    # a copy of the session's warehouse, so the shared marts stay intact
    warehouse = tmp_path / "nexus.duckdb"
    shutil.copy(built_marts.settings.duckdb_path, warehouse)
    settings = built_marts.settings.model_copy(update={"duckdb_path": warehouse})
    target = tmp_path / "target"

    clean = run_dbt(["test", *SELECT], settings, target_path=target, check=False)
    assert clean.returncode == 0, clean.stdout[-3000:]

    with duckdb.connect(str(warehouse)) as con:
        first_rows = "select symbol, trade_date from marts.fct_prices_daily where realized_vol_20d is not null"
        con.execute(
            f"update marts.fct_prices_daily set realized_vol_20d = 99 "
            f"where (symbol, trade_date) in ({first_rows} order by all limit 3)"
        )
        con.execute(
            "update marts.fct_prices_daily set observed_date = null "
            "where (symbol, trade_date) in (select symbol, trade_date from marts.fct_prices_daily order by all limit 1)"
        )
        # a fact that became public an hour after the row's decision time: a look-ahead leak
        con.execute(
            "update marts.fct_prices_daily set max_available_at_used = decision_at + interval 1 hour "
            "where (symbol, trade_date) in (select symbol, trade_date from marts.fct_prices_daily "
            "order by all desc limit 2)"
        )
        # the same key twice
        con.execute(
            "insert into marts.fct_prices_daily "
            "select * from marts.fct_prices_daily order by symbol, trade_date limit 1 offset 10"
        )
    broken = run_dbt(["test", *SELECT, "--store-failures"], settings, target_path=target, check=False)
    assert broken.returncode != 0
    run = json.loads((target / "run_results.json").read_text())
    (result,) = [r for r in run["results"] if r["unique_id"].startswith("test.")]
    assert result["status"] == "fail" and result["failures"] == 7  # failing rows, summed over the broken rules

    with duckdb.connect(str(warehouse), read_only=True) as con:
        relation = con.execute(
            "select table_schema, table_name from information_schema.tables where table_name like 'row_checks%'"
        ).fetchone()
        assert relation is not None
        stored = dict(con.execute(f'select rule, failing_rows from "{relation[0]}"."{relation[1]}"').fetchall())
    assert stored == {
        "observed_date is null": 1,
        "realized_vol_20d outside [0, 10]": 3,
        "max_available_at_used after the decision time of trade_date": 2,
        "duplicate (symbol, trade_date)": 1,
    }
