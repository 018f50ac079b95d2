"""`nexus maintain`: fewer files, time travel within the retention intact, bronze untouched."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from resources.lake.bronze import RawPayload, put_payloads
from resources.lake.maintenance import maintain_lake
from resources.lake.storage import LakeStorage
from resources.lake.time_travel import TimeTravel

NIGHTS = 12


def _bronze(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under bronze/: size and sha256 (payloads and the manifest's own Delta files)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted((root / "bronze").rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def fragmented(tmp_path: Path) -> tuple[LakeStorage, str, list[datetime]]:
    """A silver table written by twelve small appends (one per 'night'), a gold table, and bronze payloads."""
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    payloads = [
        RawPayload(
            source="cboe",
            dataset="VIX",
            location=f"file:///{i}.csv",
            data=f"x,{i}\n".encode() * 50,
            fetched_at=datetime.now(UTC),
        )
        for i in range(3)
    ]
    put_payloads(storage, payloads, run_id="r")
    uri = storage.uri("silver", "cboe", "index_closes")
    instants = []
    for night in range(NIGHTS):
        rows = pa.table({"night": pa.array([night] * 5, pa.int32()), "value": [float(night + i) for i in range(5)]})
        write_deltalake(uri, rows, mode="append")
        time.sleep(0.02)
        instants.append(datetime.now(UTC))
        time.sleep(0.02)
    write_deltalake(storage.uri("gold", "signals", "daily"), pa.table({"x": [1]}))
    write_deltalake(storage.uri("gold", "signals", "daily"), pa.table({"x": [2]}), mode="append")
    return storage, uri, instants


def test_maintenance_compacts_keeps_time_travel_within_the_retention_and_never_touches_bronze(fragmented, tmp_path):
    storage, uri, instants = fragmented
    bronze_before = _bronze(tmp_path / "lake")
    assert len(bronze_before) >= 3
    before = DeltaTable(uri)
    assert len(before.file_uris()) == NIGHTS
    rows_before = before.to_pyarrow_table().sort_by("night")
    lake = TimeTravel(storage, datetime.min.time())
    third_night = lake.read("silver/cboe/index_closes", stored_at=instants[2]).sort_by("night")

    report = maintain_lake(storage, retention_hours=1)

    silver = next(t for t in report.tables if t.table == "silver/cboe/index_closes")
    assert silver.files_before == NIGHTS and silver.files_after == 1 and silver.compacted_files == NIGHTS
    assert silver.vacuumed_files == 0  # the replaced files stopped being used seconds ago: within the retention
    assert {t.table for t in report.tables} == {"silver/cboe/index_closes", "gold/signals/daily"}
    after = DeltaTable(uri)
    assert after.to_pyarrow_table().sort_by("night") == rows_before
    # time travel within the retention: every earlier version still reads as it did
    assert lake.read("silver/cboe/index_closes", stored_at=instants[2]).sort_by("night") == third_night
    assert third_night.num_rows == 15
    assert _bronze(tmp_path / "lake") == bronze_before  # bronze: every payload, same count, same bytes


def test_vacuum_deletes_only_what_the_retention_lets_go(fragmented, tmp_path):
    storage, uri, instants = fragmented
    bronze_before = _bronze(tmp_path / "lake")
    maintain_lake(storage, retention_hours=1)
    report = maintain_lake(storage, retention_hours=0)  # an operator who keeps no history at all
    silver = next(t for t in report.tables if t.table == "silver/cboe/index_closes")
    assert silver.vacuumed_files == NIGHTS and silver.files_after == 1
    assert len(list(Path(uri).glob("*.parquet"))) == 1
    old = DeltaTable(uri)
    old.load_as_version(instants[2])
    with pytest.raises(Exception):  # noqa: B017 - delta-rs raises its own IO error for the vacuumed files
        old.to_pyarrow_table()
    assert _bronze(tmp_path / "lake") == bronze_before


def test_the_cli_and_the_dagster_asset_report_files_before_and_after(fragmented, monkeypatch):
    from dagster import materialize

    from assets.maintenance.assets import MAINTENANCE_KEY, lake_maintenance
    from pipelines.cli import app
    from resources.lake.resource import LakeResource

    storage, _, _ = fragmented
    monkeypatch.setenv("NEXUS_LAKE_URI", storage.root_uri)
    monkeypatch.setenv("NEXUS_VACUUM_RETENTION_HOURS", "24")
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    resources = {
        "lake": LakeResource(lake_uri=storage.root_uri),
        "settings": SettingsResource.from_settings(get_settings()),
    }
    result = materialize([lake_maintenance], resources=resources)
    assert result.success
    [event] = result.asset_materializations_for_node(lake_maintenance.op.name)
    assert event.asset_key == MAINTENANCE_KEY
    meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert meta["files_before"] == NIGHTS + 2 and meta["files_after"] == 2 and meta["retention_hours"] == 24
    assert "silver/cboe/index_closes | 12 | 1 |" in meta["per_table"]

    again = CliRunner().invoke(app, ["maintain", "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["retention_hours"] == 24
    assert sum(t["files_before"] for t in report["tables"]) == 2  # already compact: nothing left to do
    text = CliRunner().invoke(app, ["maintain", "--retention-hours", "1"])
    assert text.exit_code == 0 and "2 tables: 2 → 2 data files" in text.output, text.output
