"""The point-in-time join behind `pit_join`: for each (symbol, timestamp), the features row with the latest decision
time at or before it, by DuckDB's ASOF JOIN.

Where the time goes for 100,000 rows against ten years of daily features (tests/bench/bench_pit_join.py): the
join itself is a small part; the rest is preparing the features (symbol codes, decision instants), bringing the
entities into Arrow, and gathering ~40 wide columns for every row. So the features are prepared once into a
`FeatureIndex` (kept by `TimeTravel` per table version), the join pairs only row numbers (integer symbol codes,
no feature columns carried through DuckDB), the pairs are scattered into entity order (no sort), and the wide
columns are gathered column by column on a thread per core (Arrow's take releases the GIL).

The first call on a new table version also reads the table and prepares it. Opening a DuckDB connection costs
~13 ms of CPU, more than half of what the ASOF JOIN of 100,000 rows costs, so every index takes a cursor on one
in-memory database per process (opened at the first join, never at import) and keeps its keys in a temporary
table of its own (dropped with the cursor).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UTC_MICROS = pa.timestamp("us", tz="UTC")  # the lake's timestamp type: DuckDB compares without casting every row
_GATHER_THREADS = max(1, min(4, os.cpu_count() or 1))
_DATABASE: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (process id, connection): a fork opens its own
_DATABASE_LOCK = threading.Lock()
_TABLE_NUMBERS = itertools.count()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) on this process's in-memory join database, opened on first use."""
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None or _DATABASE[0] != os.getpid():
            _DATABASE = (os.getpid(), duckdb.connect())
        cursor = _DATABASE[1].cursor()
    cursor.execute("set TimeZone = 'UTC'")
    return cursor


def decision_at_sql(date_column: str, decision_time_utc: time) -> str:
    """SQL for a date column's decision instant (the date at NEXUS_DECISION_TIME_UTC, in UTC)."""
    return f"(\"{date_column}\" + time '{decision_time_utc.isoformat()}')::timestamp at time zone 'UTC'"


def when_columns(names: list[str]) -> list[str]:
    return ["decision_at"] if "decision_at" in names else ["trade_date"]


class FeatureIndex:
    """A features table made ready for many point-in-time joins: symbols as integer codes, each row's decision
    instant, the other columns combined into single chunks ready to gather, and a DuckDB table holding the
    (code, instant, row) keys. Build once per table version; `join` as often as needed (not thread-safe); `close`
    drops the keys."""

    def __init__(self, features: pa.Table, decision_time_utc: time) -> None:
        names = features.schema.names
        self.symbols = pc.unique(features["symbol"].combine_chunks())
        self.columns = features.drop_columns(["symbol"]).combine_chunks()
        self.con = _cursor()
        self.keys = f"features_{next(_TABLE_NUMBERS)}"
        keys = features.select(when_columns(names)).append_column(
            "__symbol", pc.index_in(features["symbol"], value_set=self.symbols)
        )
        when = "decision_at" if "decision_at" in names else decision_at_sql("trade_date", decision_time_utc)
        keys = keys.append_column("__row", pa.array(np.arange(features.num_rows, dtype=np.int64)))
        self.con.register("features_raw", keys)
        # materialized once: the decision instants computed, rows with no symbol or instant dropped
        self.con.execute(
            f"create temp table {self.keys} as select __symbol, {when} as __known, __row from features_raw "
            "where __symbol is not null and __known is not null"
        )
        self.con.unregister("features_raw")

    def close(self) -> None:
        self.con.execute(f"drop table if exists {self.keys}")
        self.con.close()

    def rows_for(self, symbols: pa.Array | pa.ChunkedArray, at: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """For each (symbol, instant), the features row known then, or -1 (unknown symbol, or before its first)."""
        n = len(at)
        self.con.register(
            "entities_in",
            pa.table(
                {
                    "__symbol": pc.index_in(symbols, value_set=self.symbols),
                    "__at": at,
                    "__row": pa.array(np.arange(n, dtype=np.int64)),
                }
            ),
        )
        try:
            pairs = self.con.execute(
                f"""
                select e.__row, f.__row as __feature_row
                from entities_in as e asof left join {self.keys} as f
                    on e.__symbol = f.__symbol and e.__at::timestamptz >= f.__known
                """
            ).fetchnumpy()
        finally:
            self.con.unregister("entities_in")
        picked = np.full(n, -1, dtype=np.int64)
        found = pairs["__feature_row"]
        if isinstance(found, np.ma.MaskedArray):  # rows with no match come back masked
            keep = ~np.ma.getmaskarray(found)
            picked[np.asarray(pairs["__row"])[keep]] = np.asarray(found.data)[keep]
        else:
            picked[np.asarray(pairs["__row"])] = np.asarray(found)
        return picked

    def join(self, entities: pd.DataFrame | pa.Table) -> pa.Table:
        """`entities` (symbol, timestamp, anything else) with the features known at each row's timestamp appended;
        rows keep their order and count; a feature column named like an entity column gets a `_feature` suffix."""
        if isinstance(entities, pd.DataFrame):
            entities = pa.Table.from_pandas(entities, preserve_index=False)
        at = entities["timestamp"]
        if pa.types.is_timestamp(at.type):
            at = at.cast(pa.timestamp("us", tz=at.type.tz or "UTC"), safe=False).cast(UTC_MICROS)
        picked = self.rows_for(entities["symbol"], at)
        indices = pa.array(picked, mask=picked < 0)
        with ThreadPoolExecutor(_GATHER_THREADS) as pool:
            gathered = list(pool.map(lambda column: column.take(indices), self.columns.columns))
        if "timestamp" in entities.column_names and pa.types.is_timestamp(entities.schema.field("timestamp").type):
            entities = entities.set_column(entities.column_names.index("timestamp"), "timestamp", at)  # as compared
        out = entities
        for name, column in zip(self.columns.column_names, gathered, strict=True):
            out = out.append_column(f"{name}_feature" if name in entities.column_names else name, column)
        return out


def asof_join(entities: pd.DataFrame | pa.Table, features: pa.Table, decision_time_utc: time) -> pa.Table:
    """One join over features already read (prepares them for this call only; keep a FeatureIndex to reuse)."""
    index = FeatureIndex(features, decision_time_utc)
    try:
        return index.join(entities)
    finally:
        index.close()
