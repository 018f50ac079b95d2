"""A content-keyed cache of fitted models in the lake, so a re-run with identical inputs reuses identical fits.

A fit is a pure function of its inputs (rows, configuration, seed, previous fit), so the key is a hash of exactly
those; a different input can never hit an old entry. Entries are small text objects (a regime fit as JSON, or the
model-store version of a LightGBM model) under gold/models/_cache/<namespace>/<2 hex>/<sha256>.txt.

Keys change with the inputs, so entries no run will ask for again pile up (every night with new rows adds a set).
An entry's modification time is its last use: a hit older than REFRESH_AFTER writes the entry again (at most once
a day per entry; a same-day re-run writes nothing). `prune_fit_cache` (`nexus maintain`, the weekly maintenance)
removes an entry only when its last use is older than the retention and it was not used by its namespace's latest
run: every entry that run read or wrote carries a stamp within LATEST_RUN_SPAN of the namespace's newest one. A
pruned entry that is wanted after all only costs a refit. Other files under gold/models/_cache (the signals
history, overwritten in place by each build) are not this cache's and are left alone.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta

import pyarrow.fs as pafs
from pydantic import BaseModel, Field

from resources.lake.storage import LakeStorage

_KEY = re.compile(r"^[0-9a-f]{64}$")
_NAMESPACE = re.compile(r"^[a-z0-9_]+$")
CACHE_PARTS = ("models", "_cache")  # under gold/
REFRESH_AFTER = timedelta(days=1)
LATEST_RUN_SPAN = 2 * REFRESH_AFTER  # a run's entries: stamped at most REFRESH_AFTER before it, a run under a day


class LakeFitCache:
    def __init__(self, storage: LakeStorage, namespace: str) -> None:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"invalid cache namespace {namespace!r}")
        self.storage = storage
        self.namespace = namespace
        self.hits = 0
        self.misses = 0

    def _uri(self, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError("cache keys are sha256 hex digests")
        return self.storage.uri("gold", *CACHE_PARTS, self.namespace, key[:2], f"{key}.txt")

    def get(self, key: str) -> str | None:
        uri = self._uri(key)
        info = self.storage.filesystem.get_file_info(self.storage.fs_path(uri))
        try:
            value = None if info.type == pafs.FileType.NotFound else self.storage.read_bytes(uri)
        except FileNotFoundError:  # pruned between the two calls: a miss, a refit
            value = None
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        if info.mtime is None or datetime.now(UTC) - info.mtime > REFRESH_AFTER:
            self.storage.write_bytes(uri, value)  # stamps the use, so maintenance keeps what runs still read
        return value.decode()

    def put(self, key: str, value: str) -> None:
        self.storage.write_bytes(self._uri(key), value.encode())


class CacheEntry(BaseModel):
    namespace: str
    key: str
    last_used: datetime = Field(description="the entry's modification time: when a run last wrote or read it")
    size: int


class CachePruning(BaseModel):
    """What `prune_fit_cache` found and removed (or, in a dry run, would remove)."""

    retention_hours: int
    dry_run: bool
    entries: int = Field(description="cache entries before pruning")
    removed: list[CacheEntry]

    @property
    def removed_bytes(self) -> int:
        return sum(e.size for e in self.removed)


def cache_entries(storage: LakeStorage) -> list[CacheEntry]:
    """Every fit-cache entry in the lake (files laid out as the cache writes them; nothing else)."""
    fs, base = storage.filesystem, storage.fs_path(storage.uri("gold", *CACHE_PARTS))
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    found: list[CacheEntry] = []
    for info in fs.get_file_info(selector):
        parts = info.path[len(base) :].strip("/").split("/")
        if info.type != pafs.FileType.File or len(parts) != 3:
            continue
        namespace, prefix, name = parts
        key = name.removesuffix(".txt")
        if _NAMESPACE.match(namespace) and _KEY.match(key) and name.endswith(".txt") and key[:2] == prefix:
            found.append(CacheEntry(namespace=namespace, key=key, last_used=info.mtime, size=info.size or 0))
    return sorted(found, key=lambda e: (e.namespace, e.key))


def stale_entries(entries: list[CacheEntry], retention_hours: int, now: datetime) -> list[CacheEntry]:
    """Entries last used before the retention and not by their namespace's latest run."""
    newest: dict[str, datetime] = {}
    for entry in entries:
        newest[entry.namespace] = max(newest.get(entry.namespace, entry.last_used), entry.last_used)
    cutoff = now - timedelta(hours=retention_hours)
    return [e for e in entries if e.last_used < cutoff and e.last_used < newest[e.namespace] - LATEST_RUN_SPAN]


def prune_fit_cache(
    storage: LakeStorage, retention_hours: int, *, dry_run: bool = False, now: datetime | None = None
) -> CachePruning:
    """Remove the stale entries (`stale_entries`); with `dry_run`, only list them."""
    entries = cache_entries(storage)
    stale = stale_entries(entries, retention_hours, now or datetime.now(UTC))
    if not dry_run:
        for entry in stale:
            uri = storage.uri("gold", *CACHE_PARTS, entry.namespace, entry.key[:2], f"{entry.key}.txt")
            with contextlib.suppress(FileNotFoundError):  # already gone: what pruning wanted
                storage.filesystem.delete_file(storage.fs_path(uri))
    return CachePruning(retention_hours=retention_hours, dry_run=dry_run, entries=len(entries), removed=stale)
