"""What the pipeline builds, recorded: the content hash of every table of a small deterministic lake (the session's
`built_marts`: every simulated source ingested, 2019-01 to 2024-06, and a full dbt build) must equal
`tests/snapshots/lake_hashes.json`. A refactor that changes no behaviour leaves it unchanged; a change to what a
table holds shows up in review as a diff of that file.

Update after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/integration/test_lake_hashes.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from tests.tools.lake_hashes import LakeHashes, arrow_hash

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "lake_hashes.json"
UPDATE_ENV = "UPDATE_SNAPSHOTS"


@pytest.mark.slow
def test_every_table_of_the_built_lake_hashes_as_recorded(built_marts):
    hashes = built_marts.hashes
    assert hashes is not None and hashes.tables and hashes.files
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(hashes.model_dump_json(indent=1) + "\n")
    recorded = LakeHashes.model_validate_json(SNAPSHOT.read_text())
    differences = recorded.differences(hashes)
    assert not differences, f"{len(differences)} differences (UPDATE_SNAPSHOTS=1 if intended):\n" + "\n".join(
        differences[:40]
    )


def test_a_table_hash_ignores_row_order_and_build_columns_but_not_values():
    table = pa.table({"symbol": ["A", "B", "B"], "value": [1.0, 2.0, None], "run_id": ["r1", "r1", "r1"]})
    same = arrow_hash(table)
    assert arrow_hash(table.take([2, 0, 1])) == same
    assert arrow_hash(table.set_column(2, "run_id", pa.array(["r2"] * 3))) == same
    assert arrow_hash(table.set_column(1, "value", pa.array([1.0, 2.0 + 1e-14, None]))) == same  # below 12 digits
    assert arrow_hash(table.set_column(1, "value", pa.array([1.0, 2.0001, None]))) != same
    assert arrow_hash(table.take([0, 1])) != same  # a row less
    assert arrow_hash(table.take([0, 1, 1])) != same  # a duplicate is another row
    assert arrow_hash(table.rename_columns(["symbol", "level", "run_id"])) != same


def test_a_local_server_port_and_an_ingestion_time_are_not_content():
    def manifest(port: int, ingested: str) -> pa.Table:
        return pa.table(
            {
                "location": [f"http://127.0.0.1:{port}/api/series.csv"],
                "source_ingested_through": [ingested],
                "sha256": ["ab12"],
            }
        )

    assert arrow_hash(manifest(33861, "2024-06-28")) == arrow_hash(manifest(37205, "2024-07-01"))
    assert arrow_hash(manifest(33861, "2024-06-28")) != arrow_hash(manifest(33861, "2024-06-28").take([0, 0]))
