"""The sources Nexus knows, by CLI name: how to ingest each one outside Dagster (`nexus ingest`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.sources.base import IngestReport

Ingest = Callable[..., list[IngestReport]]


def _cboe(storage: LakeStorage, settings: Settings, **kwargs: object) -> list[IngestReport]:
    from resources.sources.cboe.ingest import ingest_cboe

    return [ingest_cboe(storage, settings, **kwargs)]  # type: ignore[arg-type]


SOURCES: dict[str, Ingest] = {"cboe": _cboe}


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
        raise ValueError(f"unknown source {name!r}; choose from {', '.join(sorted(SOURCES))}")
    return SOURCES[name](storage, settings, run_id=run_id, start=start, end=end, files=files)
