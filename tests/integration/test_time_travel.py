"""Point-in-time reads: tables as known at T (knowledge time) and as stored at T (Delta time travel), pit_join."""

from __future__ import annotations

import time as wall
from datetime import UTC, datetime, time, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from resources.analyst_sql import GoldTables, connect, run_query
from resources.lake.snapshot import decision_time, snapshot_lake
from resources.lake.storage import LakeStorage
from resources.lake.time_travel import SqlInstant, TimeTravel, pit_join, read_table, silver_specs
from resources.marts_build import publish_gold


@pytest.fixture(scope="module")
def lake(built_marts) -> TimeTravel:
    # gold/marts Delta tables and the analysts' DuckDB file (additive: no other test reads them)
    publish_gold(built_marts.storage, built_marts.settings, duckdb_file=True)
    return TimeTravel.from_settings(built_marts.settings)


def _frame(table: pa.Table) -> pd.DataFrame:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("t", table)
        return con.sql("select * from t").df()


@pytest.mark.slow
def test_pit_join_equals_the_features_held_at_the_last_decision_time(lake):
    features = _frame(lake.read("fct_features_daily"))
    rng = np.random.default_rng(14)
    symbols = [*features.symbol.unique(), "NOT_A_SYMBOL"]
    start, end = features.decision_at.min() - pd.Timedelta(days=5), features.decision_at.max() + pd.Timedelta(days=5)
    n = 1000
    seconds = rng.integers(0, int((end - start).total_seconds()), n)
    entities = pd.DataFrame(
        {"symbol": rng.choice(symbols, n), "timestamp": [start + pd.Timedelta(seconds=int(s)) for s in seconds]}
    )
    # exact decision instants are included: a row known at T is used at T
    entities.loc[:9, "timestamp"] = features.decision_at.iloc[:10].to_numpy()
    entities.loc[:9, "symbol"] = features.symbol.iloc[:10].to_numpy()

    joined = _frame(pit_join(entities, lake=lake))

    assert len(joined) == n and (joined.symbol.to_numpy() == entities.symbol.to_numpy()).all()
    columns = [c for c in features.columns if c != "symbol"]
    by_symbol = {s: f.sort_values("decision_at") for s, f in features.groupby("symbol")}
    matched = 0
    for i, row in entities.iterrows():
        held = by_symbol.get(row.symbol)
        held = held[held.decision_at <= row.timestamp] if held is not None else None
        got = joined.iloc[i]
        if held is None or held.empty:
            assert got[columns].isna().all(), (i, row)
            continue
        want = held.iloc[-1]
        matched += 1
        for column in columns:
            assert (pd.isna(want[column]) and pd.isna(got[column])) or want[column] == got[column], (i, column)
    assert matched > n * 0.8


@pytest.mark.slow
def test_marts_as_known_keep_rows_decided_by_then(lake):
    full = _frame(lake.read("fct_prices_daily"))
    at = full.decision_at.sort_values().iloc[len(full) // 2]
    known = _frame(lake.read("fct_prices_daily", known_at=at.to_pydatetime()))
    assert len(known) == (full.decision_at <= at).sum() and known.decision_at.max() == at
    # a table without decision_at is cut on its date at the decision time
    labels_known = _frame(lake.read("gold/marts/fct_labels_daily", known_at=at.to_pydatetime()))
    assert labels_known.trade_date.max() == pd.Timestamp(lake.cutoff_date(at.to_pydatetime()))


@pytest.mark.slow
def test_a_revised_fred_observation_as_known_in_the_past_is_the_vintage_known_then(lake):
    obs = _frame(lake.read("silver/fred/observations"))
    keys = ["series_id", "observation_date"]
    counts = obs.groupby(keys).value.nunique()
    revised = counts[counts > 1].index
    assert len(revised) > 0, "the simulated world should revise some FRED observations"
    series_id, day = revised[len(revised) // 2]
    versions = obs[(obs.series_id == series_id) & (obs.observation_date == day)].sort_values("available_at")
    first, latest = versions.iloc[0], versions.iloc[-1]
    assert first.value != latest.value
    later = versions[versions.available_at > first.available_at].available_at.min()
    at = (first.available_at + (later - first.available_at) / 2).to_pydatetime()

    past = _frame(read_table("fred/observations", known_at=at, lake=lake))
    seen = past[(past.series_id == series_id) & (past.observation_date == day)].sort_values("realtime_start")
    assert (seen.available_at <= pd.Timestamp(at)).all()
    assert seen.value.iloc[-1] == first.value  # the vintage known then ...
    assert latest.value not in set(seen.value)  # ... not today's value
    now = _frame(read_table("fred/observations", known_at=datetime.now(UTC), lake=lake))
    now_seen = now[(now.series_id == series_id) & (now.observation_date == day)].sort_values("realtime_start")
    assert now_seen.value.iloc[-1] == latest.value


def test_stored_at_reads_the_delta_version_current_then(tmp_path):
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    uri = storage.uri("gold", "signals", "daily")
    before = datetime.now(UTC)
    wall.sleep(0.05)
    write_deltalake(uri, pa.table({"signal_date": pa.array([1], pa.int32()), "v": [1.0]}))
    wall.sleep(0.05)
    between = datetime.now(UTC)
    wall.sleep(0.05)
    write_deltalake(uri, pa.table({"signal_date": pa.array([1], pa.int32()), "v": [2.0]}), mode="overwrite")
    lake = TimeTravel(storage, time(22))
    assert lake.read("signals/daily").column("v").to_pylist() == [2.0]
    assert lake.read("signals/daily", stored_at=between).column("v").to_pylist() == [1.0]
    assert lake.read("gold/signals/daily", stored_at=between + timedelta(days=1)).column("v").to_pylist() == [2.0]
    assert lake.read("signals/daily", stored_at=before).num_rows == 0  # before the table existed


def _latest_per_key(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    latest = frame.sort_values(["available_at", "version"]).drop_duplicates(keys, keep="last")
    return latest.sort_values(keys).reset_index(drop=True)


@pytest.mark.slow
def test_sql_as_of_shows_the_silver_rows_of_a_lake_cut_at_that_instant(lake, built_marts, tmp_path, monkeypatch):
    """Truncation invariance as an analyst sees it: `--as-of T` on the full lake, per key, equals a lake holding
    only what was published by T (resources.lake.snapshot)."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from resources.settings import get_settings

    monkeypatch.setenv("NEXUS_LAKE_URI", built_marts.storage.root_uri)
    monkeypatch.setenv("NEXUS_PUBLISHED_DUCKDB_PATH", str(built_marts.settings.published_duckdb_path))
    get_settings.cache_clear()
    specs = silver_specs()
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2020-02-01", "2024-05-31")
    for day in sorted(rng.choice(days, 2, replace=False)):
        day = pd.Timestamp(day).date()
        at = decision_time(day)
        cut = LakeStorage(root_uri=str(tmp_path / f"cut_{day}"))
        snapshot_lake(built_marts.storage, cut, day)
        instant = SqlInstant(lake, known_at=at)
        con = connect(built_marts.settings.published_duckdb_path, prepare=instant.prepare)
        gold = GoldTables(built_marts.storage, instant.read, silver=True)
        compared = 0
        for name, spec in specs.items():
            if cut.uri("silver", *name.split("/")) not in cut.list_delta_tables("silver"):
                continue
            view = "silver_" + name.replace("/", "_")
            result = run_query(con, f"select * from {view}", gold)
            shown = pd.DataFrame(result.rows, columns=result.columns)
            expected = _latest_per_key(
                read_table(f"silver/{name}", lake=TimeTravel(cut, lake.decision_time_utc)).to_pandas(), list(spec.keys)
            )
            shown = shown.sort_values(list(spec.keys)).reset_index(drop=True)
            assert len(shown) == len(expected), (day, name)
            for column in expected.columns:
                left, right = shown[column].astype(object), expected[column].astype(object)
                same = (left == right) | (left.isna() & right.isna())
                assert same.all(), (day, name, column)
            compared += len(expected) > 0
        assert compared >= 5
        # marts: only rows decided by T, under their usual names
        decided = run_query(con, "select max(decision_at), count(*) from fct_prices_daily").rows[0]
        assert (
            decided[0] <= at and decided[1] < run_query(con, "select count(*) from marts.fct_prices_daily").rows[0][0]
        )
        con.close()

        cli = CliRunner().invoke(
            app,
            [
                "sql",
                "--as-of",
                at.isoformat(),
                "-c",
                "select count(*) as n from silver_fred_observations",
                "--format",
                "csv",
            ],
        )
        assert cli.exit_code == 0, cli.output
        fred = _frame(read_table("silver/fred/observations", lake=TimeTravel(cut, lake.decision_time_utc)))
        assert cli.output.strip().splitlines() == [
            "n",
            str(len(_latest_per_key(fred, list(specs["fred/observations"].keys)))),
        ]


def test_sql_stored_at_reads_marts_and_gold_tables_at_the_version_current_then(tmp_path):
    """`nexus sql --stored-at T`: marts (shadowed by name) and gold tables as the lake stored them at T."""
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    marts_uri, signals_uri = storage.uri("gold", "marts", "fct_prices_daily"), storage.uri("gold", "signals", "daily")

    def mart(closes: list[float]) -> pa.Table:
        n = len(closes)
        return pa.table(
            {"symbol": ["SPX"] * n, "trade_date": pa.array(range(19000, 19000 + n), pa.date32()), "close": closes}
        )

    write_deltalake(marts_uri, mart([1.0]))
    write_deltalake(signals_uri, pa.table({"signal_date": pa.array([19000], pa.date32()), "score": [0.1]}))
    wall.sleep(0.05)
    between = datetime.now(UTC)
    wall.sleep(0.05)
    write_deltalake(marts_uri, mart([1.5, 2.0]), mode="overwrite")
    write_deltalake(
        signals_uri, pa.table({"signal_date": pa.array([19000], pa.date32()), "score": [0.9]}), mode="overwrite"
    )
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("create schema marts")
        con.register("current", mart([1.5, 2.0]))
        con.execute("create table marts.fct_prices_daily as select * from current")
    published = tmp_path / "published.duckdb"
    from resources.lake.gold import publish_duckdb_file

    publish_duckdb_file(build, published, [("marts", "fct_prices_daily")])

    instant = SqlInstant(TimeTravel(storage, time(22)), stored_at=between)
    con = connect(published, prepare=instant.prepare)
    gold = GoldTables(storage, instant.read, silver=True)
    assert run_query(con, "select close from fct_prices_daily").rows == [(1.0,)]
    assert run_query(con, "select count(*) from marts.fct_prices_daily").rows == [(2,)]  # the current file
    assert run_query(con, "select score from signals_daily", gold).rows == [(0.1,)]
    with pytest.raises(Exception, match="read-only"):  # still locked after the views were registered
        run_query(con, "set enable_external_access = true")
    con.close()
    # knowledge time on the current version: rows dated 2022-01-08 are decided at 22:00 that day
    known = SqlInstant(TimeTravel(storage, time(22)), known_at=datetime(2022, 1, 8, 22, tzinfo=UTC))
    con = connect(published, prepare=known.prepare)
    assert run_query(con, "select close from fct_prices_daily").rows == [(1.5,)]
    con.close()
