"""Load the model inputs from the published marts, refusing anything that was not known at decision time.

The features mart is point in time by construction, and dbt tests check it; this loader checks again at the door
(`max_available_at_used <= decision_at` on every row) so a feature that arrives late can never reach a model,
whatever produced the table.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow.compute as pc

from resources.errors import LeakageError
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage

HORIZONS: tuple[int, ...] = (1, 2, 3, 5, 7, 10)


def mart_uri(storage: LakeStorage, name: str) -> str:
    return storage.uri("gold", "marts", name)


def check_point_in_time(frame: pd.DataFrame, *, source: str) -> None:
    """Raise LeakageError when any row used a fact that became available after its decision time."""
    if frame.empty:
        return
    if "max_available_at_used" not in frame or "decision_at" not in frame:
        raise LeakageError(f"{source}: rows do not say when their facts became available; refusing to use them")
    late = frame["max_available_at_used"] > frame["decision_at"]
    if late.any():
        first = frame.loc[late].iloc[0]
        raise LeakageError(
            f"{source}: {int(late.sum())} rows use a fact available after their decision time "
            f"(first: {first['symbol']} on {first['trade_date']}, available {first['max_available_at_used']}, "
            f"decision {first['decision_at']})"
        )


def load_features(storage: LakeStorage, *, until: date | None = None) -> pd.DataFrame:
    """fct_features_daily as a frame (dates as datetime64), checked for point in time."""
    table = read_table(storage, mart_uri(storage, "fct_features_daily"))
    if until is not None and table.num_rows:
        table = table.filter(pc.less_equal(table["trade_date"], until))
    frame = table.to_pandas()
    check_point_in_time(frame, source="fct_features_daily")
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    return frame.sort_values(["symbol", "trade_date"], ignore_index=True)


def load_labels(storage: LakeStorage) -> pd.DataFrame:
    """fct_labels_daily renamed to the model contract (fwd_ret_<h>d, label_known_at_<h>d)."""
    frame = read_table(storage, mart_uri(storage, "fct_labels_daily")).to_pandas()
    frame = frame.rename(columns={f"fwd_return_{h}d": f"fwd_ret_{h}d" for h in HORIZONS})
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    return frame.sort_values(["symbol", "trade_date"], ignore_index=True)


def load_prices(storage: LakeStorage) -> pd.DataFrame:
    frame = read_table(storage, mart_uri(storage, "fct_prices_daily")).to_pandas()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    return frame.sort_values(["symbol", "trade_date"], ignore_index=True)


def load_mart(storage: LakeStorage, name: str) -> pd.DataFrame:
    frame = read_table(storage, mart_uri(storage, name)).to_pandas()
    if "trade_date" in frame:
        frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    return frame
