"""`RowsBy` gives exactly the rows a boolean mask selects (values, order, index labels), contiguous or not."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt

from assets.personas.common import RowsBy, signal_refs
from assets.personas.models import SignalRef


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["A", "A", "B", "C", "B", None, "C"],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )


def test_rows_by_equals_the_mask_for_every_value():
    frame = _frame()
    rows_of = RowsBy(frame, "symbol")
    for value in ["A", "B", "C", "missing"]:
        expected = frame[frame["symbol"] == value]
        got = rows_of(value)
        pdt.assert_frame_equal(got, expected, check_index_type=value != "missing")


def test_rows_by_of_a_slice_leaves_the_frame_unchanged_when_the_rows_are_changed():
    frame = _frame()
    rows = RowsBy(frame, "symbol")("A")
    rows.loc[10, "value"] = -1.0  # copy-on-write: the frame keeps its value
    assert frame.loc[10, "value"] == 1.0


def test_rows_by_of_an_empty_frame_is_empty():
    empty = _frame().iloc[0:0]
    assert RowsBy(empty, "symbol")("A").empty


def test_signal_refs_are_validated_shared_and_sorted():
    rows = pd.DataFrame(
        {
            "symbol": ["SPX", "GC", "SPX"],
            "signal_date": pd.to_datetime(["2024-06-14", "2024-06-14", "2024-06-14"]),
            "horizon": [5, 1, 5],
        }
    )
    refs = signal_refs(rows)
    assert [r.key for r in refs] == ["GC|2024-06-14|1", "SPX|2024-06-14|5"]
    assert all(isinstance(r, SignalRef) for r in refs)
    assert signal_refs(rows)[0] is refs[0]
