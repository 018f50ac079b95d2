"""The day the lake is as of: recorded by ingests, only moving forward, cut by snapshots, optional for dbt."""

from __future__ import annotations

from datetime import date, time

import pyarrow as pa
import pytest
from dbt.adapters.duckdb.utils import SourceConfig
from deltalake.exceptions import TableNotFoundError

from resources.lake.as_of import lake_as_of, record_as_of, source_as_of
from resources.lake.dbt_delta_plugin import Plugin
from resources.lake.delta import read_table, replace_where
from resources.lake.snapshot import snapshot_lake
from resources.lake.storage import LakeStorage
from resources.reference import LAKE_AS_OF, lake_as_of_table

DECISION_TIME = time(22, 0)  # the settings' default decision time (UTC)


def test_the_lake_is_as_of_the_latest_day_any_source_was_loaded_as_of(tmp_path):
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    assert lake_as_of(storage) is None
    record_as_of(storage, "fred", date(2024, 6, 28))
    record_as_of(storage, "cot", date(2024, 6, 21))
    assert lake_as_of(storage) == date(2024, 6, 28)
    # replaying an older partition adds no later facts and removes none: the marker does not move back
    record_as_of(storage, "fred", date(2020, 1, 3))
    assert source_as_of(storage) == {"fred": date(2024, 6, 28), "cot": date(2024, 6, 21)}
    record_as_of(storage, "cot", date(2024, 7, 5))
    assert lake_as_of(storage) == date(2024, 7, 5)


def test_a_snapshot_is_as_of_its_cut_day(tmp_path):
    full = LakeStorage(root_uri=str(tmp_path / "full"))
    record_as_of(full, "fred", date(2024, 6, 28))
    replace_where(full, LAKE_AS_OF, lake_as_of_table(date(2024, 6, 28)))
    cut = LakeStorage(root_uri=str(tmp_path / "cut"))
    snapshot_lake(full, cut, date(2022, 3, 4), DECISION_TIME)
    assert lake_as_of(cut) == date(2022, 3, 4)
    assert read_table(cut, LAKE_AS_OF).column("as_of_date").to_pylist() == [date(2022, 3, 4)]
    # a cut after the lake's own day is as of the lake's day
    later = LakeStorage(root_uri=str(tmp_path / "later"))
    snapshot_lake(full, later, date(2025, 1, 1), DECISION_TIME)
    assert read_table(later, LAKE_AS_OF).column("as_of_date").to_pylist() == [date(2024, 6, 28)]


def _source(path: str, **meta: object) -> SourceConfig:
    return SourceConfig("lake_as_of", "lake_as_of", "src_reference", None, {"delta_table_path": path, **meta}, [])


def test_the_dbt_source_of_an_absent_as_of_table_reads_as_no_rows_only_when_allowed(tmp_path):
    plugin = Plugin("delta", {})
    missing = str(tmp_path / "lake" / "silver" / "reference" / "lake_as_of")
    empty = plugin.load(_source(missing, empty_if_missing={"as_of_date": "date32"}))
    assert empty.num_rows == 0 and empty.schema == pa.schema([("as_of_date", pa.date32())])
    with pytest.raises(TableNotFoundError):
        plugin.load(_source(missing))  # every other source still fails loudly when its table is missing
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    replace_where(storage, LAKE_AS_OF, lake_as_of_table(date(2024, 6, 28)))
    present = plugin.load(_source(missing, empty_if_missing={"as_of_date": "date32"}))
    assert present.to_table().column("as_of_date").to_pylist() == [date(2024, 6, 28)]
