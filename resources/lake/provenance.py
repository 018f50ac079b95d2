"""Which publisher modes built the lake: a small marker per source under bronze/_provenance.

Readers of the lake (the weekly PDF, feed manifests) must say when what they show comes from the simulated
publisher, whatever settings the reading process runs with, so the lake records it rather than the settings.
"""

from __future__ import annotations

import json
from typing import get_args

from resources.lake.storage import LakeStorage
from resources.settings import SourceMode

MODES: tuple[str, ...] = get_args(SourceMode)


def _uri(storage: LakeStorage, source: str) -> str:
    return storage.uri("bronze", "_provenance", f"{source}.json")


def record_mode(storage: LakeStorage, source: str, mode: str) -> None:
    """Add `mode` to the modes that have loaded `source` into this lake (idempotent; no write when known)."""
    if mode not in MODES:
        raise ValueError(f"unknown source mode {mode!r}")
    modes = source_modes(storage).get(source, set())
    if mode in modes:
        return
    body = {"source": source, "modes": sorted(modes | {mode})}
    storage.write_bytes(_uri(storage, source), (json.dumps(body, sort_keys=True) + "\n").encode())


def source_modes(storage: LakeStorage) -> dict[str, set[str]]:
    """Every source that has loaded data into the lake, with the modes it was loaded in."""
    folder = storage.uri("bronze", "_provenance")
    if not storage.exists(folder):
        return {}
    import pyarrow.fs as pafs

    found: dict[str, set[str]] = {}
    selector = pafs.FileSelector(storage.fs_path(folder), allow_not_found=True)
    for info in storage.filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.base_name.endswith(".json"):
            continue
        body = json.loads(storage.read_bytes(f"{folder}/{info.base_name}"))
        found[str(body["source"])] = {str(m) for m in body["modes"]}
    return found


def simulated_sources(storage: LakeStorage) -> list[str]:
    """Sources whose lake data came, at least in part, from the simulated publisher."""
    return sorted(source for source, modes in source_modes(storage).items() if "simulated" in modes)


def is_simulated(storage: LakeStorage) -> bool:
    """True when any source of the lake was loaded from the simulated publisher: its figures are not real."""
    return bool(simulated_sources(storage))
