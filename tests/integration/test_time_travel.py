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

from resources.lake.storage import LakeStorage
from resources.lake.time_travel import TimeTravel, pit_join, read_table
from resources.marts_build import publish_gold


@pytest.fixture(scope="module")
def lake(built_marts) -> TimeTravel:
    publish_gold(built_marts.storage, built_marts.settings)  # gold/marts Delta tables (additive)
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

    joined = pit_join(entities, lake=lake)

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
