"""The day the lake is as of: the latest publisher state any ingest loaded, one small marker per source.

An ingest as of day D loads the publishers as they stood at D's end, so nothing the lake holds can describe a day
after D. The marts must not either: dbt caps its day grids (EIA's two-week slack after the last weekly report, the
COT forward fill) at this date, read from the reference table `silver/reference/lake_as_of` that
`resources.marts_build.write_reference_tables` writes from these markers before every build. A marker only moves
forward: re-running an older partition adds no later facts, and never removes the later ones already merged.

Markers live beside the provenance markers under `bronze/_as_of/<source>.json`; a lake with none (files loaded
without a date) is as of no particular day, and the marts are then not capped.
"""

from __future__ import annotations

import json
from datetime import date

import pyarrow.fs as pafs

from resources.lake.storage import LakeStorage

FOLDER = "_as_of"


def _uri(storage: LakeStorage, source: str) -> str:
    return storage.uri("bronze", FOLDER, f"{source}.json")


def record_as_of(storage: LakeStorage, source: str, day: date) -> None:
    """`source` was loaded as of `day`: keep the later of that and what is recorded (no write when not later)."""
    known = source_as_of(storage).get(source)
    if known is not None and known >= day:
        return
    body = {"source": source, "as_of": day.isoformat()}
    storage.write_bytes(_uri(storage, source), (json.dumps(body, sort_keys=True) + "\n").encode())


def source_as_of(storage: LakeStorage) -> dict[str, date]:
    """Every source with a marker, and the latest day it was loaded as of."""
    folder = storage.uri("bronze", FOLDER)
    if not storage.exists(folder):
        return {}
    found: dict[str, date] = {}
    selector = pafs.FileSelector(storage.fs_path(folder), allow_not_found=True)
    for info in storage.filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.base_name.endswith(".json"):
            continue
        body = json.loads(storage.read_bytes(f"{folder}/{info.base_name}"))
        found[str(body["source"])] = date.fromisoformat(body["as_of"])
    return found


def lake_as_of(storage: LakeStorage) -> date | None:
    """The day the lake is as of (the latest of its sources'), or None when no ingest recorded one."""
    days = source_as_of(storage).values()
    return max(days) if days else None
