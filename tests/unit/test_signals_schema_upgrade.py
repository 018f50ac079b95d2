"""A signals table written under an older contract (1.0, 1.1) takes the new rows: new nullable columns added, old
rows kept."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake

from assets.signals.table import SIGNALS, SIGNALS_FEED, write_window
from resources.feeds.datasets import json_schema
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import conform
from tests.unit.test_signals_table import _frame

NEW = (
    "var_95_parametric", "var_99_parametric", "base_rate", "edge", "edge_threshold",  # 1.1
    "model_prob_up", "model_prob_flat", "model_prob_down",  # 1.2
)  # fmt: skip
DAYS = [date(2024, 1, 2), date(2024, 1, 3)]


def test_a_table_of_the_previous_contract_gets_the_new_columns(tmp_path):
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    old = conform(pa.Table.from_pandas(_frame(DAYS, "run-old"), preserve_index=False), SIGNALS)
    old = old.drop_columns(list(NEW))  # what a 1.0 build wrote
    write_deltalake(storage.uri("gold", "signals", "daily"), old, partition_by=["signal_date"])
    write_window(storage, _frame(DAYS[1:], "run-new"), DAYS[1], DAYS[1])
    table = read_table(storage, SIGNALS).to_pandas()
    first, second = table[table["signal_date"] == DAYS[0]], table[table["signal_date"] == DAYS[1]]
    assert set(first["run_id"]) == {"run-old"} and first[list(NEW)].isna().all().all()
    assert set(second["run_id"]) == {"run-new"} and second[list(NEW)].notna().all().all()
    assert len(table) == len(_frame(DAYS, "x"))
    pd.testing.assert_series_equal(
        first["probability"].reset_index(drop=True),
        _frame(DAYS[:1], "x")["probability"].reset_index(drop=True),
        check_names=False,
    )


def test_the_delivered_schema_says_which_probability_a_signal_states():
    """Feed clients read the JSON Schema, not the README: prob_* are the ones the decision used, model_prob_* the
    model's own."""
    props = json_schema(SIGNALS_FEED, pa.schema([]))["properties"]
    assert "the one the decision used" in props["prob_up"]["description"]
    assert "model_prob_up" in props["prob_up"]["description"]
    assert "same footing as prob_up" in props["prob_down"]["description"]
    assert "model's own" in props["model_prob_up"]["description"]
