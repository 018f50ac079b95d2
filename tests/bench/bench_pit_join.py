"""pit_join throughput: 100,000 random (symbol, timestamp) rows against a features table of fct_features_daily's
shape (20 symbols x 10 years of trading days x 40 feature columns), through the same asof_join pit_join runs.

The features are generated here rather than built by dbt so that the figure measures the join, not a lake build;
reading fct_features_daily from the lake adds its Delta scan once per call (a few hundred ms on a full lake).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from datetime import time as clock

import numpy as np
import pandas as pd
import pyarrow as pa

from resources.lake.time_travel import asof_join
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


def run() -> list[Figure]:
    features = _features()
    rng = np.random.default_rng(1)
    start = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
    seconds = rng.uniform(0, 10 * 365 * 86400, ROWS)
    entities = pd.DataFrame(
        {
            "symbol": rng.choice([f"SYM{i:02d}" for i in range(20)], ROWS),
            "timestamp": pd.to_datetime(start + seconds, unit="s", utc=True),
        }
    )
    asof_join(entities.head(1000), features, clock(22))  # warm up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        joined = asof_join(entities, features, clock(22))
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert len(joined) == ROWS
    return [
        Figure("pit_join: 100k (symbol, timestamp) rows x 40 features", ROWS / best / 1e6, "M/s", ">= 1 M rows/s"),
        # CPU seconds of every thread of the process: on a shared machine the wall-clock figure above measures
        # the load; this one is what the join itself costs (rows per CPU second, all threads together)
        Figure("pit_join: the same, per CPU second of the process", ROWS / best_cpu / 1e6, "M/s"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
