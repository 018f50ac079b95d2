"""What the pipeline builds, recorded: the content hash of every table of a small deterministic lake (the session's
`built_marts`: every simulated source ingested, 2019-01 to 2024-06, and a full dbt build) must equal
`tests/snapshots/lake_hashes.json`. (A whole `nexus run`'s lake, models to feeds: tests/e2e/test_full_lake_hashes.py.)
A refactor that changes no behaviour leaves it unchanged; a change to what a
table holds shows up in review as a diff of that file.

Update after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/integration/test_lake_hashes.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from tests.tools.lake_hashes import arrow_hash, canonical, snapshot_differences, tabular_hash

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "lake_hashes.json"


@pytest.mark.slow
def test_every_table_of_the_built_lake_hashes_as_recorded(built_marts):
    hashes = built_marts.hashes
    assert hashes is not None and hashes.tables and hashes.files
    differences = snapshot_differences(hashes, SNAPSHOT)
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


def test_run_ids_recommendation_ids_and_build_folders_are_not_content(tmp_path):
    def row(run: str, rec: str, root: str) -> pa.Table:
        payload = f'{{"signal_run_ids": ["{run}"], "refs": ["{rec}"]}}'
        return pa.table(
            {"payload_json": [payload], "data_refs": [[f"recommendation:{rec}"]], "uri": [f"{root}/v1/manifest.json"]}
        )

    first = row("7b7c7882-5092-4929-ac5e-ca1c5a582936", "0e06bf1d22f1d7e468ec7843fd3f1fed", "/tmp/a/feeds")
    second = row("70c74d27-c788-498c-a092-7c5c3fd7247e", "6fc2df3839c240c09a70e396a4bf5aaa", "/tmp/b/feeds")
    assert arrow_hash(first, {"/tmp/a/feeds": "<feeds>"}) == arrow_hash(second, {"/tmp/b/feeds": "<feeds>"})
    assert arrow_hash(first, {"/tmp/a/feeds": "<feeds>"}) != arrow_hash(first.set_column(2, "uri", pa.array(["x"])))

    manifest = {
        "generated_at": "2026-12-05T13:49:54Z",
        "files": [{"path": "a.csv", "rows": 5, "sha256": "ab", "bytes": 9}],
    }
    other = {
        "generated_at": "2026-12-06T00:00:00Z",
        "files": [{"path": "a.csv", "rows": 5, "sha256": "cd", "bytes": 8}],
    }
    assert canonical("m.json", json.dumps(manifest).encode()) == canonical("m.json", json.dumps(other).encode())
    other["files"][0]["rows"] = 6
    assert canonical("m.json", json.dumps(manifest).encode()) != canonical("m.json", json.dumps(other).encode())

    csv = "symbol,close,run_id\nSPX,5000.5,r1\nWTI,80.25,r1\n"
    same = tabular_hash("prices.csv", csv.encode())
    assert tabular_hash("prices.csv", csv.replace("r1", "r2").encode()) == same  # a run id column left out
    assert tabular_hash("prices.csv", csv.replace("80.25", "80.26").encode()) != same


def test_the_models_caches_are_not_content_but_gold_documents_are(tmp_path):
    from resources.lake.storage import LakeStorage
    from tests.tools.lake_hashes import hash_lake

    storage = LakeStorage(root_uri=str(tmp_path))
    cached = tmp_path / "gold" / "models" / "_cache" / "signals_history" / "signals.parquet"
    document = tmp_path / "gold" / "reports" / "weekly.json"
    for path in (cached, document):
        path.parent.mkdir(parents=True)
        path.write_text('{"a": 1}')
    assert list(hash_lake(storage).files) == ["gold/reports/weekly.json"]
