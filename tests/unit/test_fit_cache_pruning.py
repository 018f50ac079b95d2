"""`nexus maintain` prunes the model-fit cache: an entry the latest run read or wrote stays, an entry no run has used
for longer than the retention goes, a dry run lists what would go and changes nothing, and nothing else under
gold/models/_cache (the signals history) is touched."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resources.fit_cache import LakeFitCache, cache_entries, prune_fit_cache
from resources.lake.storage import LakeStorage

NOW = datetime.now(UTC)


def _key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _entry(storage: LakeStorage, namespace: str, key: str) -> Path:
    return Path(storage.fs_path(storage.uri("gold", "models", "_cache", namespace, key[:2], f"{key}.txt")))


def _put(storage: LakeStorage, namespace: str, name: str, age: timedelta) -> str:
    """An entry written `age` ago."""
    key = _key(name)
    LakeFitCache(storage, namespace).put(key, f"fit {name}")
    stamp = (NOW - age).timestamp()
    os.utime(_entry(storage, namespace, key), (stamp, stamp))
    return key


@pytest.fixture
def cached(storage: LakeStorage) -> dict[str, str]:
    """Two namespaces: walk_forward ran just now (it read `reused` and wrote `fresh`); regimes last ran 20 days ago."""
    keys = {
        "reused": _put(storage, "walk_forward", "reused", timedelta(days=30)),
        "stale": _put(storage, "walk_forward", "stale", timedelta(days=30)),
        "recent": _put(storage, "walk_forward", "recent", timedelta(days=3)),  # within the retention
        "last_run": _put(storage, "regimes", "last_run", timedelta(days=20)),
        "last_run_read": _put(storage, "regimes", "last_run_read", timedelta(days=20, hours=20)),
        "older": _put(storage, "regimes", "older", timedelta(days=40)),
    }
    cache = LakeFitCache(storage, "walk_forward")  # the latest run
    assert cache.get(keys["reused"]) == "fit reused" and cache.hits == 1
    cache.put(_key("fresh"), "fit fresh")
    keys["fresh"] = _key("fresh")
    history = Path(storage.fs_path(storage.uri("gold", "models", "_cache", "signals_history", "signals.parquet")))
    history.parent.mkdir(parents=True)
    history.write_bytes(b"not a cache entry")
    os.utime(history, ((NOW - timedelta(days=90)).timestamp(),) * 2)
    return keys


def test_a_used_entry_stays_and_a_stale_one_goes(storage, cached):
    dry = prune_fit_cache(storage, retention_hours=168, dry_run=True)
    assert sorted(e.key for e in dry.removed) == sorted([cached["stale"], cached["older"]]) and dry.entries == 7
    assert len(cache_entries(storage)) == 7, "a dry run removes nothing"

    done = prune_fit_cache(storage, retention_hours=168)
    assert [e.key for e in done.removed] == [e.key for e in dry.removed] and done.removed_bytes > 0
    left = {e.key for e in cache_entries(storage)}
    kept = ("reused", "recent", "fresh", "last_run", "last_run_read")
    assert left == {cached[name] for name in kept}
    assert LakeFitCache(storage, "walk_forward").get(cached["reused"]) == "fit reused"
    assert LakeFitCache(storage, "walk_forward").get(cached["stale"]) is None  # a miss: the fit is redone
    assert (
        Path(storage.fs_path(storage.uri("gold", "models", "_cache", "signals_history")))
        .joinpath("signals.parquet")
        .read_bytes()
        == b"not a cache entry"
    )


def test_a_hit_stamps_an_old_entry_once_a_day_not_on_every_read(storage):
    key = _put(storage, "walk_forward", "old", timedelta(days=9))
    path = _entry(storage, "walk_forward", key)
    LakeFitCache(storage, "walk_forward").get(key)
    stamped = path.stat().st_mtime
    assert stamped > (NOW - timedelta(minutes=5)).timestamp()
    os.utime(path, (stamped - 3600, stamped - 3600))  # read an hour ago: a second read writes nothing
    LakeFitCache(storage, "walk_forward").get(key)
    assert path.stat().st_mtime == stamped - 3600


def test_nexus_maintain_lists_in_a_dry_run_then_prunes(storage, cached, monkeypatch):
    from pipelines.cli import app

    monkeypatch.setenv("NEXUS_LAKE_URI", storage.root_uri)
    dry = CliRunner().invoke(app, ["maintain", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove walk_forward/{cached['stale'][:12]}" in dry.output
    assert "2 of 7 model-fit cache entries would be removed" in dry.output and len(cache_entries(storage)) == 7
    done = CliRunner().invoke(app, ["maintain", "--json"])
    assert done.exit_code == 0, done.output
    pruned = json.loads(done.output)["fit_cache"]
    assert {e["key"] for e in pruned["removed"]} == {cached["stale"], cached["older"]}
    assert len(cache_entries(storage)) == 5
