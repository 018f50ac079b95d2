"""A frame's signal references: validated `SignalRef`s, one per key, sorted, and shared between calls."""

from __future__ import annotations

import pandas as pd

from assets.personas.common import signal_refs
from assets.personas.models import SignalRef


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
