"""Lake maintenance: compact small files and vacuum what no recent version uses (`nexus maintain`, weekly job).

Every nightly merge adds small Parquet files; reading a table means opening all of them. Compaction
(delta-rs `optimize.compact`) rewrites them into few large ones as a new Delta version with the same rows. Vacuum
then deletes data files that the table stopped referencing more than the retention ago
(NEXUS_VACUUM_RETENTION_HOURS), so every version committed within the retention stays readable: time travel
(`nexus sql --stored-at`, `nexus feeds reproduce`) reaches back at least that far.

Only silver and gold tables are maintained. Bronze is never touched: its payloads are immutable objects, not
Delta data files, and no vacuum may ever delete one. A source's silver tables are maintained under that source's
write lock (resources/lake/write_lock.py), so no ingest or backfill commits in between.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from resources.lake.delta import open_table
from resources.lake.storage import LakeStorage, Zone
from resources.lake.write_lock import source_write_lock

MAINTAINED_ZONES: tuple[Zone, ...] = ("silver", "gold")


class TableMaintenance(BaseModel):
    """One table before and after: active data files, version, and what compaction and vacuum did."""

    table: str = Field(description="zone/path, e.g. silver/fred/observations")
    files_before: int
    files_after: int
    version_before: int
    version_after: int
    compacted_files: int = Field(description="small files rewritten by compaction")
    vacuumed_files: int = Field(description="data files deleted by vacuum (unused for longer than the retention)")


class MaintenanceReport(BaseModel):
    retention_hours: int
    started_at: datetime
    tables: list[TableMaintenance]

    @property
    def files_before(self) -> int:
        return sum(t.files_before for t in self.tables)

    @property
    def files_after(self) -> int:
        return sum(t.files_after for t in self.tables)

    @property
    def vacuumed_files(self) -> int:
        return sum(t.vacuumed_files for t in self.tables)


def maintain_table(storage: LakeStorage, uri: str, name: str, retention_hours: int) -> TableMaintenance | None:
    """Compact then vacuum one Delta table; None when it is gone."""
    table = open_table(storage, uri)
    if table is None:
        return None
    files_before, version_before = len(table.file_uris()), table.version()
    compacted = table.optimize.compact()
    # below Delta's 7-day default only on purpose: the retention is the operator's setting
    removed = table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False)
    table = open_table(storage, uri) or table  # reloaded: the versions compaction and vacuum committed
    return TableMaintenance(
        table=name,
        files_before=files_before,
        files_after=len(table.file_uris()),
        version_before=version_before,
        version_after=table.version(),
        compacted_files=int(compacted.get("numFilesRemoved", 0)),
        vacuumed_files=len(removed),
    )


@contextlib.contextmanager
def _table_lock(storage: LakeStorage, zone: Zone, relative: str) -> Iterator[None]:
    if zone == "silver" and not relative.startswith("reference/"):
        with source_write_lock(storage, relative.split("/", 1)[0]):
            yield
    else:
        yield


def maintain_lake(storage: LakeStorage, retention_hours: int) -> MaintenanceReport:
    """Compact and vacuum every silver and gold table (never bronze)."""
    report = MaintenanceReport(retention_hours=retention_hours, started_at=datetime.now(UTC), tables=[])
    for zone in MAINTAINED_ZONES:
        for uri in storage.list_delta_tables(zone):
            relative = storage.relative_name(uri, zone)
            with _table_lock(storage, zone, relative):
                done = maintain_table(storage, uri, f"{zone}/{relative}", retention_hours)
            if done is not None:
                report.tables.append(done)
    return report
