"""What a whole `nexus run` builds, recorded: the content hash of every table and file of the default lake's first
run (tests/e2e/early_runs.py, 2019-07-01 to 2024-06-28: ingest, marts, models, signals, the paper ledger, the six
personas and their documents, the PDF report, every client's feed delivery, both DuckDB files), taken as the run
ended, must equal `tests/snapshots/lake_hashes_full.json`. A refactor that changes no behaviour leaves it unchanged.

Update after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/e2e/test_full_lake_hashes.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.lake_hashes import snapshot_differences

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "lake_hashes_full.json"
STAGES = (
    "bronze/",
    "silver/",
    "nexus.duckdb:",
    "nexus_marts.duckdb:",
    "gold/marts/",
    "gold/models/",
    "gold/signals/",
    "gold/ledger/",
    "gold/personas/",
    "gold/audit/",
    "gold/reports/",
    "feeds/",
)

pytestmark = pytest.mark.slow


def test_every_table_and_file_of_a_whole_run_hashes_as_recorded(default_lake_run):
    assert default_lake_run.returncode == 0, default_lake_run.stdout + default_lake_run.stderr
    hashes = default_lake_run.hashes
    assert hashes is not None
    names = [*hashes.tables, *hashes.files]
    for stage in STAGES:  # every stage of the chain is in the record, not only the ingest
        assert any(name.startswith(stage) for name in names), f"nothing of {stage} hashed"
    differences = snapshot_differences(hashes, SNAPSHOT)
    assert not differences, f"{len(differences)} differences (UPDATE_SNAPSHOTS=1 if intended):\n" + "\n".join(
        differences[:40]
    )
