"""The backfill gate loads only the columns a table's blocking suite reads, and gets the same verdict from them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from resources.quality.suites import suite_columns, validate
from resources.sources.eia.spec import DAILY_QUALITY, WEEKLY_QUALITY
from resources.sources.quality_gates import _suites
from resources.spark.gate import audit_columns
from resources.spark.plans import plans_for

WEDNESDAY = datetime(2024, 6, 26, 14, 30, tzinfo=UTC)
ROWS = [
    ("WCESTUS1", date(2024, 6, 14), 457105.0, "MBBL", datetime(2024, 6, 20, 15, tzinfo=UTC), 1),
    ("WCESTUS1", date(2024, 6, 21), 460696.0, "MBBL", WEDNESDAY, 1),
    ("WCESTUS1", date(2024, 6, 21), 460000.0, "MBBL", datetime(2024, 7, 3, tzinfo=UTC), 2),
    ("WCESTUS1", date(2024, 6, 21), 1.0, "MBBL", datetime(2024, 6, 1, tzinfo=UTC), 3),  # available before v2
    ("WPULEUS3", date(2024, 6, 21), -93.5, "%", WEDNESDAY, 1),  # out of range
    ("WPULEUS3", date(2024, 6, 21), 93.5, "%", WEDNESDAY, 1),  # key twice
    ("NW2_EPG0_SWO_R48_BCF", date(2024, 6, 22), None, "BCF", datetime(2024, 6, 22, tzinfo=UTC), 1),  # a Saturday
]


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["series_id", "period", "value", "units", "available_at", "version"])
    frame["available_at"] = pd.to_datetime(frame["available_at"], utc=True)
    frame["available_at_derived"] = False
    frame["is_revision"] = frame["version"] > 1
    frame["ingested_at"] = pd.Timestamp("2024-07-01", tz="UTC")
    frame["source_sha256"] = "x" * 64
    return frame


@pytest.mark.parametrize("suite", [WEEKLY_QUALITY, DAILY_QUALITY], ids=lambda s: s.name)
def test_the_suite_columns_alone_give_the_same_outcome(suite):
    frame = _frame()
    columns = suite_columns(suite, list(frame.columns))
    assert "ingested_at" not in columns and "is_revision" not in columns
    full, projected = validate(frame, suite), validate(frame[columns], suite)
    assert not full.success  # the same failures, counts and examples, not just the same pass
    assert projected.model_dump() == full.model_dump()


@pytest.mark.parametrize("spec", [p.spec for s in ("cot", "fred", "coinmetrics") for p in plans_for(s)], ids=str)
def test_a_backfilled_table_gate_reads_every_column_its_suite_names_and_no_other(spec):
    suite = _suites().get(spec.name)
    columns = audit_columns(spec)
    if suite is None:
        assert columns == []
        return
    named = {*suite.unique_keys, *suite.not_null, *suite.series_keys, *(r.column for r in suite.ranges)}
    named |= {k for r in suite.ranges for k in (r.where or {})} | ({suite.date_column} - {None})
    assert named <= set(columns) <= set(spec.schema.names)
    assert "ingested_at" not in columns and "is_revision" not in columns
