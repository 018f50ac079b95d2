"""Point-in-time reads: tables as known at T (knowledge time) and as stored at T (Delta time travel), pit_join."""

from __future__ import annotations

import math
import time as wall
from datetime import UTC, datetime, time, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from resources.analyst_sql import GoldTables, connect, lake_views, run_query
from resources.lake.snapshot import decision_time, snapshot_lake
from resources.lake.storage import LakeStorage
from resources.lake.time_travel import SqlInstant, TimeTravel, pit_join, read_table, silver_specs
from resources.marts_build import publish_gold, run_dbt


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


def _same(a: object, b: object) -> bool:
    """Identical, bit for bit (NaN equals NaN). Rolling statistics aggregate their window's values as a list in
    row order (dbt_project/macros/rolling_stats.sql), so a build over a cut history sums in the same order."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


WATERMARK_COLUMNS = {"source_ingested_through"}  # when an incremental mart's rows were computed: differs by design
LABELS = "fct_labels_daily"


def _assert_marts_as_of_equal_a_build_of_the_cut_lake(con, lake, built_marts, cut, at, root) -> None:
    """Every mart as `nexus sql --as-of at` shows it equals, row for row, the same mart built by dbt on `cut` (the
    lake holding only what was published by `at`) and read as known at `at`."""
    import os

    from resources.lake.time_travel import TableRef

    settings = built_marts.settings.model_copy(update={"lake_uri": cut.root_uri, "duckdb_path": root / "cut.duckdb"})
    saved = dict(os.environ)
    try:
        run_dbt(["run"], settings, target_path=root / "target")
    finally:  # run_dbt exports the cut lake's settings to this process; the shell under test reads the full lake
        os.environ.clear()
        os.environ.update(saved)
    sql = "select table_name from information_schema.tables where table_schema = 'marts'"
    marts = [r[0] for r in con.execute(sql).fetchall()]
    assert len(marts) >= 10
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as built:
        built.execute("set TimeZone = 'UTC'")
        for name in marts:
            shown = run_query(con, f"select * from {name}")
            columns = [c for c in shown.columns if c not in WATERMARK_COLUMNS]
            relation = f'marts."{name}"'
            schema = built.sql(f"select * from {relation} limit 0").to_arrow_table().schema
            ref = TableRef("gold", f"marts/{name}", "")
            query = lake.known_sql(ref, schema, relation, at)
            cols = ", ".join(f'"{c}"' for c in columns)
            expected = built.sql(f"select {cols} from ({query}) order by all").fetchall()
            got = sorted(
                (tuple(r[shown.columns.index(c)] for c in columns) for r in shown.rows),
                key=lambda r: tuple((v is None, v) for v in r),
            )
            expected = sorted(expected, key=lambda r: tuple((v is None, v) for v in r))
            if name == LABELS:
                # the look-ahead mart's grid runs to each instrument's last close: on the full lake a day whose
                # own close came after T (or a holiday after the last close) still has a row; every row the cut
                # lake has is identical, and extra rows carry no label not known by T (hidden, see known_sql)
                got_keys = {r[:2]: r for r in got}
                assert all(got_keys.get(r[:2]) == r for r in expected), name
                assert len(got) >= len(expected) > 0
                for h in ("1d", "2d", "3d", "5d", "7d", "10d"):
                    value, known = columns.index(f"fwd_return_{h}"), columns.index(f"label_known_at_{h}")
                    assert all(r[value] is None or r[known] <= at for r in got), (name, h)
                continue
            assert len(got) == len(expected), (name, len(got), len(expected))
            differing = [
                (columns[j], g[j], e[j])
                for g, e in zip(got, expected, strict=True)
                for j in range(len(columns))
                if not _same(g[j], e[j])
            ]
            assert not differing, (name, len(differing), differing[:10])


@pytest.mark.slow
def test_sql_as_of_shows_the_silver_rows_of_a_lake_cut_at_that_instant(lake, built_marts, tmp_path, monkeypatch):
    """Truncation invariance as an analyst sees it: `--as-of T` on the full lake, per key, equals a lake holding
    only what was published by T (resources.lake.snapshot)."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("NEXUS_LAKE_URI", built_marts.storage.root_uri)
    monkeypatch.setenv("NEXUS_PUBLISHED_DUCKDB_PATH", str(built_marts.settings.published_duckdb_path))
    specs = silver_specs()
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2020-02-01", "2024-05-31")
    for day in sorted(rng.choice(days, 2, replace=False)):
        day = pd.Timestamp(day).date()
        at = decision_time(day, built_marts.settings.decision_time_utc)
        cut = LakeStorage(root_uri=str(tmp_path / f"cut_{day}"))
        snapshot_lake(built_marts.storage, cut, day, built_marts.settings.decision_time_utc)
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
        # ... and exactly the rows the marts of a lake built only from what was published by T hold for then
        _assert_marts_as_of_equal_a_build_of_the_cut_lake(con, lake, built_marts, cut, at, tmp_path / f"cut_{day}")
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
    # a second shell on the same file in this process: its own instance, not the first one's locked configuration
    plain = connect(published, prepare=SqlInstant(TimeTravel(storage, time(22))).prepare)
    assert run_query(plain, "select close from fct_prices_daily order by 1").rows == [(1.5,), (2.0,)]
    assert run_query(plain, "select close from fct_prices_daily_as_of(timestamp '2022-01-08 22:00')").rows == [(1.5,)]
    plain.close()
    assert run_query(con, "select score from signals_daily", gold).rows == [(0.1,)]
    with pytest.raises(Exception, match="read-only"):  # still locked after the views were registered
        run_query(con, "set enable_external_access = true")
    con.close()
    # knowledge time on the current version: rows dated 2022-01-08 are decided at 22:00 that day
    known = SqlInstant(TimeTravel(storage, time(22)), known_at=datetime(2022, 1, 8, 22, tzinfo=UTC))
    con = connect(published, prepare=known.prepare)
    assert run_query(con, "select close from fct_prices_daily").rows == [(1.5,)]
    con.close()


@pytest.mark.slow
def test_one_query_compares_two_instants_through_the_as_of_macros(lake, built_marts):
    """`<table>_as_of(instant)` inside SQL: a revised FRED observation as known at two instants, side by side, and
    a mart as decided by then; the same rows as read_table(known_at=...). The shell stays read-only."""
    obs = _frame(lake.read("silver/fred/observations"))
    keys = ["series_id", "observation_date"]
    counts = obs.groupby(keys).value.nunique()
    series_id, day = counts[counts > 1].index[0]
    versions = obs[(obs.series_id == series_id) & (obs.observation_date == day)].sort_values("available_at")
    first, latest = versions.iloc[0], versions.iloc[-1]
    before = (first.available_at + (versions.available_at.iloc[1] - first.available_at) / 2).to_pydatetime()
    after = latest.available_at.to_pydatetime()

    specs = silver_specs()
    gold_views, silver_views = lake_views(built_marts.storage)
    instant = SqlInstant(lake, tables={**gold_views, **silver_views})
    con = connect(built_marts.settings.published_duckdb_path, prepare=instant.prepare)
    gold = GoldTables(built_marts.storage, instant.read, history=instant.history)
    # each vintage is its own key: the value known at an instant is that of the latest vintage known then
    sql = f"""
        with a as (
            select series_id, observation_date, arg_max(value, realtime_start) as value
            from silver_fred_observations_as_of(timestamp '{before.replace(tzinfo=None)}') group by all
        ),
        b as (
            select series_id, observation_date, arg_max(value, realtime_start) as value
            from silver_fred_observations_as_of('{after.isoformat()}') group by all
        )
        select a.value as then, b.value as now
        from a join b using (series_id, observation_date)
        where series_id = '{series_id}' and observation_date = date '{day.date()}'
    """
    rows = run_query(con, sql, gold).rows
    assert rows == [(first.value, latest.value)] and first.value != latest.value

    for at in (before, after):  # whole tables: per key, the version known then
        sql = "select * from silver_fred_observations_as_of(?)"
        shown = con.execute(sql.replace("?", f"'{at.isoformat()}'")).df()
        expected = _latest_per_key(
            read_table("fred/observations", known_at=at, lake=lake).to_pandas(), list(specs["fred/observations"].keys)
        )
        shown = shown.sort_values(list(specs["fred/observations"].keys)).reset_index(drop=True)
        assert len(shown) == len(expected) > 0
        assert np.array_equal(shown.value.to_numpy(), expected.value.to_numpy(), equal_nan=True)  # '.' is NaN
        assert (shown.available_at <= pd.Timestamp(at)).all()

    # a mart: rows decided by each instant, both in one query; the plain name is still the current mart
    mart = run_query(
        con,
        f"select (select count(*) from fct_prices_daily_as_of('{before.isoformat()}')),"
        f" (select max(decision_at) from fct_prices_daily_as_of('{before.isoformat()}')),"
        f" (select count(*) from fct_prices_daily_as_of('{after.isoformat()}')),"
        " (select count(*) from fct_prices_daily)",
    ).rows[0]
    full = _frame(lake.read("fct_prices_daily"))
    assert mart[0] == (full.decision_at <= pd.Timestamp(before)).sum() and mart[1] <= before
    assert mart[2] == (full.decision_at <= pd.Timestamp(after)).sum() and mart[3] == len(full) > mart[2]
    # a date-only mart is cut at the decision time in SQL exactly as read_table cuts it in Python
    labels = run_query(con, f"select count(*) from fct_labels_daily_as_of('{before.isoformat()}')").rows[0][0]
    assert labels == lake.read("fct_labels_daily", known_at=before).num_rows

    for statement in ("set enable_external_access = true", "create macro x() as table select 1"):
        with pytest.raises(Exception, match="read-only"):
            run_query(con, statement, gold)
    con.close()


def test_alfred_vintages_as_known_in_the_past(tmp_path):
    """ALFRED-shaped answers (FRED's documented real-time periods) through the shipped client and landing: an as-of
    between two vintages shows the first, not today's value; before the first vintage the observation is unknown."""
    from pydantic import SecretStr

    from resources.lake.delta import ensure_table
    from resources.sources.base import IngestReport, land_collecting_errors
    from resources.sources.fred.api_parser import parse_observations
    from resources.sources.fred.client import FredClient
    from resources.sources.fred.spec import OBSERVATIONS
    from tests.fixtures import publisher_responses as fx
    from tests.integration.test_publisher_contracts_live import Fixtures, _fetcher, _offset, serve

    fixtures = Fixtures()
    fixtures.add("/fred/series/observations", fx.as_json(fx.FRED_OBSERVATIONS_JSON), when=_offset(0))
    fixtures.add("/fred/series/observations", fx.as_json(fx.FRED_OBSERVATIONS_JSON_LAST), when=_offset(2))
    with serve(fixtures) as url, _fetcher("fred") as fetcher:
        client = FredClient(fetcher, f"{url}/fred", SecretStr("k" * 32), page_size=2, file_type="json")
        pages = client.observations("DTWEXBGS", start=datetime(2024, 1, 2).date(), end=datetime(2024, 1, 31).date())
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    ensure_table(storage, OBSERVATIONS)
    report = IngestReport(source="fred", table=OBSERVATIONS.name, run_id="alfred")
    errors = land_collecting_errors(
        storage, pages, parse=parse_observations, spec=OBSERVATIONS, report=report, run_id="alfred"
    )
    assert errors == []
    lake = TimeTravel(storage, time(22))

    def known(at: str) -> dict[str, float | None]:
        """Per observation date, the value of the latest vintage known at `at` (each vintage is its own key)."""
        rows = read_table("fred/observations", known_at=at, lake=lake).to_pylist()
        rows = sorted((r for r in rows if r["series_id"] == "DTWEXBGS"), key=lambda r: r["realtime_start"])
        return {str(r["observation_date"]): r["value"] for r in rows}

    # a vintage dated D is public at 17:00 New York on D (22:00 UTC in January)
    assert known("2024-01-03T21:59:59Z") == {}
    assert known("2024-01-03T22:00:00Z") == {"2024-01-02": 118.9}
    assert known("2024-01-09T12:00:00Z") == {"2024-01-02": 118.9}  # the vintage known then ...
    assert known("2024-01-10T22:00:00Z") == {"2024-01-02": 119.1, "2024-01-03": None}  # ... then the revision
    assert known("2024-02-01") == known("2024-01-10T22:00:00Z")
