"""`nexus sql`: marts without a schema prefix, other gold tables by path, read-only, and answers during a swap."""

import threading
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from resources.analyst_sql import (
    GoldTables,
    NoMartsError,
    ReadOnlyError,
    connect,
    gold_view_name,
    render,
    run_query,
    shell,
)
from resources.lake.delta import overwrite_table
from resources.lake.gold import publish_duckdb_file


def _build(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            f"create table marts.fct_prices_daily as select 'SPX' as symbol, "
            f"date '2024-01-01' + i::int as trade_date, 100.0 + i as close from range({rows}) t(i)"
        )


@pytest.fixture
def published(tmp_path: Path) -> Path:
    build = tmp_path / "build.duckdb"
    _build(build, 10)
    return publish_duckdb_file(build, tmp_path / "gold" / "nexus_marts.duckdb", [("marts", "fct_prices_daily")])


def test_marts_answer_with_or_without_the_schema_and_cannot_be_written(published):
    con = connect(published)
    assert run_query(con, "select count(*) from fct_prices_daily").rows == [(10,)]
    assert run_query(con, "select count(*) from marts.fct_prices_daily").rows == [(10,)]
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("create table marts.x as select 1")


def test_missing_marts_say_what_to_run(tmp_path):
    with pytest.raises(NoMartsError, match="make run"):
        connect(tmp_path / "nothing.duckdb")


def test_gold_tables_are_attached_by_name_only_when_a_query_uses_them(published, storage):
    signals = pa.table({"symbol": ["SPX", "BTC"], "signal_date": [date(2024, 1, 2)] * 2, "horizon": [5, 5]})
    overwrite_table(storage, storage.uri("gold", "signals", "daily"), signals)
    overwrite_table(storage, storage.uri("gold", "audit", "recommendations"), pa.table({"id": ["a"]}))
    overwrite_table(storage, storage.uri("gold", "marts", "fct_prices_daily"), pa.table({"x": [1]}))
    gold = GoldTables(storage)
    assert gold.names() == ["audit_recommendations", "signals_daily"]  # marts come from the published file
    con = connect(published)
    result = run_query(
        con,
        "select s.symbol, p.close from signals_daily s join fct_prices_daily p "
        "on p.trade_date = s.signal_date order by 1",
        gold,
    )
    assert result.rows == [("BTC", 101.0), ("SPX", 101.0)]
    assert gold.attached == {"signals_daily"}
    assert gold_view_name("personas/hedge_fund") == "personas_hedge_fund"


def test_render_formats(published):
    result = run_query(connect(published), "select symbol, trade_date, close from fct_prices_daily limit 2")
    assert render(result, "csv").splitlines() == [
        "symbol,trade_date,close",
        "SPX,2024-01-01,100.0",
        "SPX,2024-01-02,101.0",
    ]
    assert '"trade_date": "2024-01-01"' in render(result, "json")
    assert render(result, "table").endswith("(2 rows)")


def test_the_shell_lists_tables_runs_multiline_statements_and_reports_errors(published, storage):
    overwrite_table(storage, storage.uri("gold", "signals", "daily"), pa.table({"symbol": ["SPX"]}))
    lines = iter(
        [
            ".tables",
            ".schema signals_daily",
            "select count(*) as n",
            "from signals_daily;",
            "select * from nope;",
            ".quit",
        ]
    )
    out: list[str] = []
    shell(connect(published), lambda _: next(lines), out.append, GoldTables(storage))
    text = "\n".join(out)
    assert "marts.fct_prices_daily" in text and "gold: signals_daily" in text
    assert "symbol    VARCHAR" in text  # .schema of a gold table, from its Delta log
    assert "n\n---\n1" in text.replace("  ", "")
    assert "error: Catalog Error" in text


def test_a_reader_keeps_answering_while_the_file_is_replaced(published, tmp_path):
    """Publishing swaps a new file in with a rename: open readers keep their file, new ones get the new file."""
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                with connect(published) as con:
                    counts.append(run_query(con, "select count(*) from fct_prices_daily").rows[0][0])
            except BaseException as exc:  # any failure of a reader fails the test
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in (20, 30, 40, 50):
            build = tmp_path / f"build{n}.duckdb"
            _build(build, n)
            publish_duckdb_file(build, published, [("marts", "fct_prices_daily")])
    finally:
        stop.set()
        reader.join()
    assert not errors, errors[:3]
    assert set(counts) <= {10, 20, 30, 40, 50} and counts
    assert run_query(connect(published), "select count(*) from fct_prices_daily").rows == [(50,)]


ESCAPES = {
    "copy to a lake file": "copy (select 1 as a) to '{lake}/gold/marts/fct_prices_daily/part-0.parquet'",
    "copy onto a delta log": "copy (select 1 as a) to '{lake}/silver/x/_delta_log/00000000000000000000.json'",
    "export database": "export database '{tmp}/export'",
    "read_csv outside the lake": "select * from read_csv('/etc/passwd')",
    "read_text": "select * from read_text('{tmp}/secrets.env')",
    "read_parquet": "select * from read_parquet('{lake}/gold/marts/fct_prices_daily/*.parquet')",
    "glob": "select * from glob('/etc/*')",
    "attach the warehouse": "attach '{tmp}/warehouse.duckdb' as wh",
    "attach read_write": "attach '{tmp}/warehouse.duckdb' as wh (read_write)",
    "attach the published file again read_write": "attach '{published}' as again (read_write)",
    "install": "install httpfs",
    "load": "load httpfs",
    "set external access": "set enable_external_access = true",
    "set lock": "set lock_configuration = false",
    "set anything": "set memory_limit = '1GB'",
    "create a table": "create table marts.x as select 1",
    "drop a mart": "drop table marts.fct_prices_daily",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_every_escape_from_the_read_only_shell_fails_with_one_clear_line(published, tmp_path, storage, name):
    from resources.analyst_sql import ReadOnlyError

    (tmp_path / "secrets.env").write_text("EIA_API_KEY=do-not-read-me\n")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as wh:
        wh.execute("create table t as select 1 as a")
    sql = ESCAPES[name].format(lake=storage.root_uri, tmp=tmp_path, published=published)
    con = connect(published)
    with pytest.raises(ReadOnlyError, match="nexus sql is read-only") as caught:
        run_query(con, sql)
    message = str(caught.value)
    assert "do-not-read-me" not in message
    assert "\n" not in message.strip()
    assert not (tmp_path / "export").exists()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as wh:
        assert wh.execute("select count(*) from t").fetchone() == (1,)
    assert run_query(con, "select count(*) from fct_prices_daily").rows == [(10,)]  # still a working shell


def test_duckdb_itself_refuses_what_the_statement_check_lets_through(published):
    """Beneath the statement check, the connection has no file access and a locked configuration."""
    con = connect(published)
    for sql in ("copy (select 1) to '/tmp/x.csv'", "set memory_limit = '1GB'", "attach '/tmp/nexus-x.duckdb' as m"):
        with pytest.raises(duckdb.Error, match=r"disabled|locked|Permission"):
            con.execute(sql)
    assert con.execute("select current_setting('enable_external_access')").fetchone() == (False,)


def test_normal_analyst_queries_still_work(published):
    con = connect(published)
    assert run_query(con, "show tables").rows
    assert run_query(con, "describe fct_prices_daily").rows
    assert run_query(con, "summarize fct_prices_daily").rows
    assert run_query(con, "with x as (select * from fct_prices_daily) select max(close) from x").rows == [(109.0,)]
    assert run_query(con, "explain select * from fct_prices_daily").rows
    assert run_query(con, "select current_setting('TimeZone')").rows == [("UTC",)]


def test_the_cli_refuses_an_escape_with_exit_2_and_one_line(published, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("NEXUS_PUBLISHED_DUCKDB_PATH", str(published))
    target = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["sql", "-c", f"copy (select 1) to '{target}'"])
    assert result.exit_code == 2, result.output
    assert "read-only" in result.output
    assert not target.exists()
    ok = CliRunner().invoke(app, ["sql", "-c", "select count(*) as n from fct_prices_daily", "--format", "csv"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip().splitlines() == ["n", "10"]


def test_show_tables_lists_the_gold_tables_without_reading_them(published, storage, monkeypatch):
    signals = pa.table({"symbol": ["SPX"], "signal_date": [date(2024, 1, 2)], "horizon": [5]})
    overwrite_table(storage, storage.uri("gold", "signals", "daily"), signals)
    overwrite_table(storage, storage.uri("gold", "personas", "hedge_fund"), pa.table({"as_of": [date(2024, 1, 2)]}))
    gold = GoldTables(storage)
    con = connect(published)
    import resources.analyst_sql as analyst_sql

    def no_reads(*args, **kwargs):
        raise AssertionError("show tables read a gold table's data")

    monkeypatch.setattr(analyst_sql, "read_table", no_reads)
    names = [row[0] for row in run_query(con, "SHOW TABLES;", gold).rows]
    assert names == ["fct_prices_daily", "personas_hedge_fund", "signals_daily"]
    everything = run_query(con, "show all tables", gold)
    by_name = {row[2]: row for row in everything.rows}
    assert everything.columns[:3] == ["database", "schema", "name"]
    assert by_name["signals_daily"][0] == "gold" and by_name["signals_daily"][3] == ["symbol", "signal_date", "horizon"]
    assert by_name["signals_daily"][4] == ["VARCHAR", "DATE", "BIGINT"] and "fct_prices_daily" in by_name
    assert gold.attached == set()
    # still read-only: the listing runs through the same checks, and a write next to it is refused
    with pytest.raises(ReadOnlyError):
        run_query(con, "show tables; copy fct_prices_daily to 'x.csv'", gold)
    assert con.execute("select current_setting('lock_configuration')").fetchall() == [(True,)]
    monkeypatch.undo()
    assert run_query(con, "select count(*) from signals_daily", gold).rows == [(1,)]
