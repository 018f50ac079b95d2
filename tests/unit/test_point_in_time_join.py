"""The point-in-time join: each entity row gets the features row with the latest decision time at or before its
timestamp (nulls before a symbol's first one, or for an unknown symbol), in entity order; prepared features are
reused only for the Delta version they were read from."""

from __future__ import annotations

import time as wall
from datetime import UTC, datetime, time

import numpy as np
import pandas as pd
import pyarrow as pa

from resources.lake.delta import overwrite_table
from resources.lake.point_in_time_join import FeatureIndex, asof_join
from resources.lake.time_travel import TimeTravel

DECISION = time(22)


def _features(rng: np.random.Generator) -> pa.Table:
    days = pd.bdate_range("2024-01-01", periods=30)
    symbols = ["AAA", "BBB", "CCC"]
    return pa.table(
        {
            "symbol": np.repeat(symbols, len(days)),
            "trade_date": np.tile(days.date, len(symbols)),
            "value": rng.normal(size=len(days) * len(symbols)),
            "timestamp": np.arange(len(days) * len(symbols)),  # clashes with the entities' column
        }
    )


def _expected(features: pd.DataFrame, symbol: str, at: pd.Timestamp) -> float | None:
    known = pd.to_datetime(features.trade_date) + pd.Timedelta(hours=22)
    held = features[(features.symbol == symbol) & (known.dt.tz_localize(UTC) <= at)]
    return None if held.empty else held.sort_values("trade_date").iloc[-1].value


def test_each_row_gets_the_features_known_at_its_timestamp_in_entity_order():
    rng = np.random.default_rng(3)
    features = _features(rng)
    frame = features.to_pandas()
    n = 200
    instants = pd.Timestamp("2023-12-28", tz=UTC) + pd.to_timedelta(rng.integers(0, 50 * 86400, n), unit="s")
    entities = pd.DataFrame({"symbol": rng.choice(["AAA", "BBB", "CCC", "ZZZ"], n), "timestamp": instants})
    # exactly at a decision time: known then
    entities.loc[0] = ["BBB", pd.Timestamp("2024-01-10 22:00", tz=UTC)]

    joined = asof_join(entities, features, DECISION).to_pandas()

    assert list(joined.columns) == ["symbol", "timestamp", "trade_date", "value", "timestamp_feature"]
    assert (joined.symbol.to_numpy() == entities.symbol.to_numpy()).all()
    for row, got in zip(entities.itertuples(), joined.itertuples(), strict=True):
        want = _expected(frame, row.symbol, row.timestamp)
        assert (want is None and pd.isna(got.value)) or got.value == want, row
    assert joined.value.iloc[0] == _expected(frame, "BBB", pd.Timestamp("2024-01-10 22:00", tz=UTC))
    # naive timestamps are UTC
    naive = entities.assign(timestamp=entities.timestamp.dt.tz_localize(None))
    assert asof_join(naive, features, DECISION).column("value").equals(asof_join(entities, features, DECISION)["value"])


def test_a_prepared_index_joins_many_frames_like_a_fresh_one():
    rng = np.random.default_rng(5)
    features = _features(rng)
    index = FeatureIndex(features, DECISION)
    for _ in range(3):
        at = pd.Timestamp("2024-01-01", tz=UTC) + pd.to_timedelta(rng.integers(0, 45 * 86400, 100), unit="s")
        entities = pa.table({"symbol": rng.choice(["AAA", "CCC"], 100), "timestamp": pa.array(at)})
        assert index.join(entities).equals(asof_join(entities, features, DECISION))
    index.close()


def test_pit_join_reads_a_new_table_version_and_time_travels(storage):
    uri = storage.uri("gold", "marts", "fct_features_daily")
    rng = np.random.default_rng(7)
    first = _features(rng)
    overwrite_table(storage, uri, first)
    wall.sleep(0.05)
    between = datetime.now(UTC)
    wall.sleep(0.05)
    lake = TimeTravel(storage, DECISION)
    entities = pd.DataFrame({"symbol": ["AAA"], "timestamp": [pd.Timestamp("2024-02-01", tz=UTC)]})
    before = lake.pit_join(entities).column("value")[0].as_py()

    second = first.set_column(2, "value", pa.array(np.asarray(first["value"]) + 1.0))
    overwrite_table(storage, uri, second)  # a new Delta version: the prepared features must not be reused

    assert lake.pit_join(entities).column("value")[0].as_py() == before + 1.0
    assert lake.pit_join(entities, stored_at=between).column("value")[0].as_py() == before


def test_pit_join_before_the_table_existed_knows_nothing(storage):
    uri = storage.uri("gold", "marts", "fct_features_daily")
    before = datetime.now(UTC)
    wall.sleep(0.05)
    overwrite_table(storage, uri, _features(np.random.default_rng(9)))
    entities = pd.DataFrame({"symbol": ["AAA"], "timestamp": [pd.Timestamp("2024-02-01", tz=UTC)]})

    joined = TimeTravel(storage, DECISION).pit_join(entities, stored_at=before)

    assert joined.num_rows == 1 and joined.column("value").null_count == 1


def test_indexes_sharing_the_join_database_keep_their_own_keys_until_closed():
    rng = np.random.default_rng(11)
    first, second = _features(rng), _features(rng)
    entities = pa.table(
        {
            "symbol": rng.choice(["AAA", "BBB"], 50),
            "timestamp": pa.array(pd.Timestamp("2024-01-05", tz=UTC) + pd.to_timedelta(np.arange(50), unit="D")),
        }
    )
    one, two = FeatureIndex(first, DECISION), FeatureIndex(second, DECISION)
    assert one.keys != two.keys
    from_one, from_two = one.join(entities), two.join(entities)
    assert not from_one["value"].equals(from_two["value"])
    one.close()  # drops its keys only
    assert two.join(entities).equals(from_two)
    assert from_one.equals(asof_join(entities, first, DECISION))
    two.close()
