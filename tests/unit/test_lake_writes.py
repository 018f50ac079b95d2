"""Delta writes: idempotent merges, versioned history, schema enforcement."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from resources.lake.delta import content_hash, insert_new, merge_versioned, read_table, replace_where
from resources.lake.tables import SchemaEnforcementError, TableSpec, bitemporal_schema

SPEC = TableSpec(
    zone="silver",
    name="test/values",
    schema=bitemporal_schema(
        pa.field("series", pa.string(), nullable=False),
        pa.field("observed_date", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
    ),
    keys=("series", "observed_date"),
    date_column="observed_date",
    versioned=True,
)
T0 = datetime(2024, 1, 10, 21, 0, tzinfo=UTC)


def _rows(values: dict[date, float | None], sha: str = "a" * 64, available: datetime = T0) -> pa.Table:
    n = len(values)
    return pa.table(
        {
            "series": ["X"] * n,
            "observed_date": list(values),
            "value": list(values.values()),
            "available_at": [available] * n,
            "available_at_derived": [False] * n,
            "ingested_at": [datetime.now(UTC)] * n,
            "source_sha256": [sha] * n,
        }
    )


def test_same_input_three_times_gives_the_same_content(storage):
    data = _rows({date(2024, 1, 2): 1.0, date(2024, 1, 3): None, date(2024, 1, 4): 3.5})
    hashes = []
    for _ in range(3):
        merge_versioned(storage, SPEC, data, revision_available_at=T0)
        hashes.append(content_hash(read_table(storage, SPEC)))
    assert hashes[0] == hashes[1] == hashes[2]
    assert read_table(storage, SPEC).num_rows == 3


def test_a_changed_value_becomes_a_new_version_and_history_is_kept(storage):
    first = merge_versioned(
        storage, SPEC, _rows({date(2024, 1, 2): 1.0, date(2024, 1, 3): 2.0}), revision_available_at=T0
    )
    assert (first.added, first.revised) == (2, 0)
    later = datetime(2024, 2, 1, 12, tzinfo=UTC)
    second = merge_versioned(
        storage,
        SPEC,
        _rows({date(2024, 1, 2): 1.0, date(2024, 1, 3): 2.5}, sha="b" * 64),
        revision_available_at=later,
    )
    assert (second.added, second.revised, second.unchanged) == (0, 1, 1)
    rows = read_table(storage, SPEC).to_pandas().sort_values(["observed_date", "version"])
    jan3 = rows[rows.observed_date == date(2024, 1, 3)]
    assert list(jan3.version) == [1, 2]
    assert list(jan3.value) == [2.0, 2.5]
    assert list(jan3.is_revision) == [False, True]
    # the revision cannot have been known before the payload that carried it
    assert jan3.available_at.iloc[1] == later
    assert jan3.available_at.iloc[0] == T0


def test_null_to_value_is_a_revision_and_null_equals_null(storage):
    merge_versioned(storage, SPEC, _rows({date(2024, 1, 2): None}), revision_available_at=T0)
    again = merge_versioned(storage, SPEC, _rows({date(2024, 1, 2): None}), revision_available_at=T0)
    assert again.unchanged == 1
    filled = merge_versioned(storage, SPEC, _rows({date(2024, 1, 2): 4.0}), revision_available_at=T0)
    assert filled.revised == 1


def test_duplicate_keys_in_one_write_are_refused(storage):
    data = pa.concat_tables([_rows({date(2024, 1, 2): 1.0}), _rows({date(2024, 1, 2): 2.0})])
    with pytest.raises(ValueError, match="duplicate"):
        merge_versioned(storage, SPEC, data, revision_available_at=T0)
    assert read_table(storage, SPEC).num_rows == 0


def test_schema_is_enforced(storage):
    bad = _rows({date(2024, 1, 2): 1.0}).append_column("surprise", pa.array([1]))
    with pytest.raises(SchemaEnforcementError, match="unexpected"):
        merge_versioned(storage, SPEC, bad, revision_available_at=T0)
    wrong_type = _rows({date(2024, 1, 2): 1.0}).set_column(2, "value", pa.array(["1.0x"]))
    with pytest.raises(SchemaEnforcementError):
        merge_versioned(storage, SPEC, wrong_type, revision_available_at=T0)


PLAIN = TableSpec(
    zone="gold",
    name="test/plain",
    schema=pa.schema(
        [pa.field("k", pa.string(), nullable=False), pa.field("d", pa.date32()), pa.field("v", pa.int64())]
    ),
    keys=("k",),
    date_column="d",
)


def test_insert_new_keeps_existing_rows_untouched(storage):
    rows = pa.table({"k": ["a", "b"], "d": [date(2024, 1, 1)] * 2, "v": [1, 2]})
    assert insert_new(storage, PLAIN, rows).added == 2
    again = insert_new(storage, PLAIN, pa.table({"k": ["a", "c"], "d": [date(2024, 1, 1)] * 2, "v": [99, 3]}))
    assert (again.added, again.unchanged) == (1, 1)
    table = read_table(storage, PLAIN).to_pandas().set_index("k")
    assert table.loc["a", "v"] == 1 and table.loc["c", "v"] == 3


def test_replace_where_overwrites_only_its_slice(storage):
    replace_where(storage, PLAIN, pa.table({"k": ["a", "b"], "d": [date(2024, 1, 1), date(2024, 1, 2)], "v": [1, 2]}))
    replace_where(
        storage,
        PLAIN,
        pa.table({"k": ["b2"], "d": [date(2024, 1, 2)], "v": [5]}),
        column="d",
        start=date(2024, 1, 2),
        end=date(2024, 1, 2),
    )
    table = read_table(storage, PLAIN).to_pandas().set_index("k")
    assert sorted(table.index) == ["a", "b2"]
    with pytest.raises(ValueError, match="outside"):
        replace_where(
            storage,
            PLAIN,
            pa.table({"k": ["z"], "d": [date(2024, 1, 9)], "v": [5]}),
            column="d",
            start=date(2024, 1, 2),
            end=date(2024, 1, 2),
        )
