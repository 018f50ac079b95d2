"""The sources Nexus knows, by CLI name, and their uniform entry point.

Each source package has `ingest.py` with
    ingest(storage, settings, *, run_id, start, end, files=None) -> list[IngestReport]
(one report per silver table written). Imported lazily so one source's import cost is paid only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from resources.lake.as_of import record_as_of
from resources.lake.provenance import record_mode
from resources.lake.storage import LakeStorage
from resources.lake.write_lock import source_write_lock
from resources.settings import Settings
from resources.sources.base import IngestReport

SOURCES: dict[str, str] = {
    "cot": "resources.sources.cot.ingest",
    "fred": "resources.sources.fred.ingest",
    "eia": "resources.sources.eia.ingest",
    "cboe": "resources.sources.cboe.ingest",
    "coinmetrics": "resources.sources.coinmetrics.ingest",
}


def available_sources() -> list[str]:
    """Sources whose package is present (all five once every connector has landed)."""
    out = []
    for name, module in SOURCES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


def ingest_source(
    name: str,
    storage: LakeStorage,
    settings: Settings,
    *,
    run_id: str,
    start: date | None,
    end: date | None,
    files: Sequence[Path] | None,
) -> list[IngestReport]:
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; choose from {', '.join(SOURCES)}")
    module = importlib.import_module(SOURCES[name])
    with source_write_lock(storage, name):  # one writer per table: never beside a backfill of this source
        reports = module.ingest(storage, settings, run_id=run_id, start=start, end=end, files=files)
    record_mode(storage, name, "files" if files else settings.source_mode)
    if end is not None and not files and settings.source_mode != "files":  # files carry no as-of date
        record_as_of(storage, name, end)
    return reports
