"""A content-keyed cache of fitted models in the lake, so a re-run with identical inputs reuses identical fits.

A fit is a pure function of its inputs (rows, configuration, seed, previous fit), so the key is a hash of exactly
those; a different input can never hit an old entry. Entries are small text objects (a regime fit as JSON, or the
model-store version of a LightGBM model) under gold/models/_cache/<namespace>/.
"""

from __future__ import annotations

import re

from resources.lake.storage import LakeStorage

_KEY = re.compile(r"^[0-9a-f]{64}$")


class LakeFitCache:
    def __init__(self, storage: LakeStorage, namespace: str) -> None:
        if not re.match(r"^[a-z0-9_]+$", namespace):
            raise ValueError(f"invalid cache namespace {namespace!r}")
        self.storage = storage
        self.namespace = namespace
        self.hits = 0
        self.misses = 0

    def _uri(self, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError("cache keys are sha256 hex digests")
        return self.storage.uri("gold", "models", "_cache", self.namespace, key[:2], f"{key}.txt")

    def get(self, key: str) -> str | None:
        uri = self._uri(key)
        if not self.storage.exists(uri):
            self.misses += 1
            return None
        self.hits += 1
        return self.storage.read_bytes(uri).decode()

    def put(self, key: str, value: str) -> None:
        self.storage.write_bytes(self._uri(key), value.encode())
