"""The signals writer replaces exactly the days whose content changed and never touches the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.signals.build import SIGNAL_COLUMNS
from assets.signals.table import SIGNALS, write_window
from resources.lake.delta import content_hash, read_table

START = date(2024, 3, 1)  # a Friday: the window holds a weekend
DAYS = [START + timedelta(days=i) for i in range(10)]
SYMBOLS = ("SPX", "BTC")


def _row(symbol: str, day: date, horizon: int, probability: float, run_id: str) -> dict:
    up = probability
    return {
        "symbol": symbol,
        "signal_date": day,
        "decision_at": datetime.combine(day, time(22), tzinfo=UTC),
        "horizon": horizon,
        "direction": "UP",
        "probability": up,
        "prob_up": up,
        "prob_flat": 0.0,
        "prob_down": 1 - up,
        "confidence": abs(2 * up - 1),
        "expected_move": 0.001,
        "move_low": -0.01,
        "move_high": 0.012,
        "regime": "BULL",
        "regime_probability": 0.8,
        "rule_cot_extreme": None,
        "rule_sentiment": None,
        "sentiment_label": None,
        "rule_vix_term_structure": None,
        "rule_mvrv_zone": None,
        "rule_eia_surprise": None,
        "rule_tsmom": 0.5,
        "rule_factor_momentum": None,
        "ensemble_score": 0.1,
        "confluence": 0.2,
        "size": 0.05,
        "kelly_fraction": 0.05,
        "drawdown_state": "FULL_SIZE",
        "var_95": 0.01,
        "var_99": 0.02,
        "var_95_parametric": 0.011,
        "var_99_parametric": 0.016,
        "base_rate": 0.5,
        "edge": up - 0.5,
        "edge_threshold": 0.02,
        "model_prob_up": up - 0.01,
        "model_prob_flat": 0.0,
        "model_prob_down": 1.01 - up,
        "model_version": "m1",
        "feature_snapshot_hash": "f" * 64,
        "run_id": run_id,
    }


def _frame(days: list[date], run_id: str, bumped: dict[tuple[str, date], float] | None = None) -> pd.DataFrame:
    bumped = bumped or {}
    rows = [
        _row(symbol, day, horizon, bumped.get((symbol, day), 0.55), run_id)
        for day in days
        for symbol in SYMBOLS
        for horizon in (1, 5)
        # weekends only have the crypto instrument, as the real universe does
        if symbol == "BTC" or day.weekday() < 5
    ]
    return pd.DataFrame(rows)[list(SIGNAL_COLUMNS)]


def _by_day(table: pa.Table) -> dict[date, str]:
    frame = table.to_pandas()
    return {
        day: content_hash(pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False))
        for day, rows in frame.groupby("signal_date")
    }


def test_unchanged_days_between_changed_days_survive(storage):
    """Only NYSE days change; the crypto weekend between them does not and must not be deleted."""
    write_window(storage, _frame(DAYS, "run-1"), DAYS[0], DAYS[-1])
    before = read_table(storage, SIGNALS)
    friday, monday = DAYS[0], DAYS[3]
    assert friday.weekday() == 4 and monday.weekday() == 0
    changed = _frame(DAYS, "run-2", {("SPX", friday): 0.6, ("SPX", monday): 0.6})

    stats = write_window(storage, changed, DAYS[0], DAYS[-1])

    after = read_table(storage, SIGNALS)
    assert after.num_rows == before.num_rows
    old, new = _by_day(before), _by_day(after)
    assert set(new) == set(DAYS)
    assert [day for day in DAYS if old[day] != new[day]] == [friday, monday]
    assert stats.added == 2 * (len(SYMBOLS) * 2)


def test_the_same_window_twice_writes_nothing(storage):
    write_window(storage, _frame(DAYS, "run-1"), DAYS[0], DAYS[-1])
    version = _version(storage)
    stats = write_window(storage, _frame(DAYS, "run-2"), DAYS[0], DAYS[-1])
    assert stats.added == 0
    assert _version(storage) == version
    assert set(read_table(storage, SIGNALS).column("run_id").to_pylist()) == {"run-1"}


def _version(storage) -> int:
    from resources.lake.delta import open_table

    table = open_table(storage, SIGNALS)
    assert table is not None
    return table.version()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changed=st.sets(st.sampled_from(DAYS), max_size=len(DAYS)),
    window=st.tuples(st.integers(0, len(DAYS) - 1), st.integers(0, len(DAYS) - 1)).map(sorted),
)
def test_rows_of_every_other_day_stay_byte_for_byte(tmp_path_factory, changed, window):
    from resources.lake.storage import LakeStorage

    storage = LakeStorage(root_uri=str(tmp_path_factory.mktemp("lake")))
    first = _frame(DAYS, "run-1")
    write_window(storage, first, DAYS[0], DAYS[-1])
    before = _by_day(read_table(storage, SIGNALS))
    lo, hi = DAYS[window[0]], DAYS[window[1]]
    bumped = {("BTC", day): 0.7 for day in changed}

    write_window(storage, _frame(DAYS, "run-2", bumped), lo, hi)

    after = _by_day(read_table(storage, SIGNALS))
    assert set(after) == set(DAYS)
    rewritten = {day for day in changed if lo <= day <= hi}
    for day in DAYS:
        if day in rewritten:
            assert after[day] != before[day], day
        else:
            assert after[day] == before[day], day


def test_rows_outside_the_listed_days_are_refused(storage):
    import pytest

    from resources.lake.delta import replace_values

    table = pa.Table.from_pandas(_frame(DAYS[:2], "run-1"), preserve_index=False)
    with pytest.raises(ValueError, match="outside"):
        replace_values(storage, SIGNALS, table, column="signal_date", values=[DAYS[0]])
    assert read_table(storage, SIGNALS).num_rows == 0
