"""pit_join throughput: 100,000 random (symbol, timestamp) rows against a features table of fct_features_daily's
shape (20 symbols x 10 years of trading days x 40 feature columns), written as a Delta table in a temporary lake
and joined through `TimeTravel.pit_join`, the path a quant calls.

The features are generated here rather than built by dbt so that the figure measures the join, not a lake build.
Three figures: a repeated call on the same table version (the features already read and prepared: what a quant's
loop over entity frames pays, and the issue's >= 1 M rows/s), the same per CPU second of the process (all
threads; on a shared machine the wall-clock figure measures the load, this one the work), and a first call, which
also reads the table from Delta and prepares it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from resources.lake import time_travel
from resources.lake.delta import overwrite_table
from resources.lake.storage import LakeStorage
from resources.lake.time_travel import TimeTravel
from tests.bench.common import Figure

ROWS = 100_000


def _features(symbols: int = 20, days: int = 2520, columns: int = 40) -> pa.Table:
    rng = np.random.default_rng(0)
    trade_dates = pd.bdate_range("2015-01-01", periods=days)
    n = symbols * days
    data = {
        "symbol": np.repeat([f"SYM{i:02d}" for i in range(symbols)], days),
        "trade_date": np.tile(trade_dates.date, symbols),
        "decision_at": pa.array(np.tile((trade_dates + pd.Timedelta(hours=22)).tz_localize(UTC), symbols)).cast(
            pa.timestamp("us", tz="UTC")  # the lake's type
        ),
    }
    data.update({f"feature_{j:02d}": rng.normal(size=n) for j in range(columns)})
    return pa.table(data)


def _entities(rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    start = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
    seconds = rng.uniform(0, 10 * 365 * 86400, rows)
    return pd.DataFrame(
        {
            "symbol": rng.choice([f"SYM{i:02d}" for i in range(20)], rows),
            "timestamp": pd.to_datetime(start + seconds, unit="s", utc=True),
        }
    )


def _best(call: Callable[[], pa.Table], repeats: int) -> tuple[float, float]:
    """Best wall and best CPU seconds (every thread of the process) over `repeats` calls."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        joined = call()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        assert joined.num_rows == ROWS
    return best, best_cpu


def run() -> list[Figure]:
    entities = _entities()
    with tempfile.TemporaryDirectory(prefix="nexus-bench-pit-") as root:
        storage = LakeStorage(root_uri=str(Path(root) / "lake"))
        overwrite_table(storage, storage.uri("gold", "marts", "fct_features_daily"), _features())
        lake = TimeTravel(storage, clock(22))

        def first_call() -> pa.Table:
            time_travel._INDEXES.clear()  # as if the table version were new
            return lake.pit_join(entities)

        first, _ = _best(first_call, 3)
        lake.pit_join(entities.head(1000))  # the table version read and prepared once
        warm, warm_cpu = _best(lambda: lake.pit_join(entities), 7)
    return [
        Figure("pit_join: 100k (symbol, timestamp) rows x 40 features", ROWS / warm / 1e6, "M/s", ">= 1 M rows/s"),
        Figure("pit_join: the same, per CPU second of the process", ROWS / warm_cpu / 1e6, "M/s"),
        Figure("pit_join: first call on a table version (Delta read + prepare)", ROWS / first / 1e6, "M/s"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
