"""The simulated world kept on disk, so a new process loads it (~0.01 s) instead of simulating it again.

Building one seed's world costs ~1.6 CPU s. `nexus run` builds it once per process (`world_for` keeps it in
memory), but every other process that needs it pays again: each run the daemon launches, each test worker, the
models stage's oracle when ingest was skipped. The world is a pure function of the seed and its code, so the file
is keyed by the seed, a hash of the modules that compute it and the versions of the libraries it is made and
pickled with: changed code or an upgraded numpy can never load an old world. The file is this project's own pickle
in a local folder (`NEXUS_CACHE_DIR`), written atomically; a missing, stale or unreadable file is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import pickle
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resources.lake.stage_state import code_hash
from resources.simulated.world import World, build_world, remember_world, remembered_world, world_span

if TYPE_CHECKING:
    from resources.settings import Settings

# what `build_world` computes with: its module and the release calendars it schedules reports by
WORLD_MODULES = ("resources.simulated.world", "resources.sources.cot.calendar", "resources.sources.eia.calendar")
WORLD_LIBRARIES = ("numpy", "pandas", "holidays")
WORLDS_KEPT = 4  # a few seeds (the default and the tests') side by side; older files are removed
PREWARM_WAIT_S = 120.0  # longest wait for a prewarming process before building here after all

# seed -> the process `prewarm_world` started to build that world into the cache
_PREWARMING: dict[int, Any] = {}


def world_key(seed: int) -> str:
    """The cache key of a seed's world: the seed, the span it simulates, its code and the libraries it is built
    and pickled with."""
    parts = [str(seed), *map(str, world_span()), code_hash(*WORLD_MODULES), platform.python_version()]
    parts += [f"{name}=={version(name)}" for name in WORLD_LIBRARIES]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def world_file(cache_dir: Path, seed: int) -> Path:
    return cache_dir / "world" / f"world-{seed}-{world_key(seed)}.pickle"


def load_world(settings: Settings) -> World:
    """The world of `settings.seed`, from the disk cache under `settings.cache_dir` when it holds it."""
    return cached_world(settings.seed, settings.cache_dir)


def prewarm_world(settings: Settings) -> bool:
    """Start building `settings.seed`'s world into the cache in another process, when the cache lacks it.

    `nexus run` calls this first thing: the world (~1.6 CPU s) is then simulated on the second core while this
    process loads the code location and starts the first run, and the first `load_world` only waits for what is
    left. A fresh interpreter (spawn), not a fork: the caller may hold threads. Returns whether it started one."""
    path = world_file(settings.cache_dir, settings.seed)
    if path.is_file() or settings.seed in _PREWARMING:
        return False
    process = multiprocessing.get_context("spawn").Process(
        target=_build_into_cache, args=(settings.seed, settings.cache_dir), name="nexus-world-prewarm", daemon=True
    )
    process.start()
    _PREWARMING[settings.seed] = process
    return True


def _build_into_cache(seed: int, cache_dir: Path) -> None:
    _write(world_file(cache_dir, seed), build_world(seed))


def cached_world(seed: int, cache_dir: Path) -> World:
    """The world for `seed`: read from `cache_dir`, else built and written there. Either way it becomes the
    process's world for that seed, so `world_for(seed)` (what the publisher's emitters call) returns it."""
    remembered = remembered_world(seed)
    if remembered is not None:
        return remembered
    prewarming = _PREWARMING.pop(seed, None)
    if prewarming is not None:  # its file, once written, is the world; a failed or slow one: built here instead
        prewarming.join(PREWARM_WAIT_S)
    path = world_file(cache_dir, seed)
    world = _read(path, seed)
    if world is None:
        world = build_world(seed)
        _write(path, world)
    remember_world(world)
    return world


def _read(path: Path, seed: int) -> World | None:
    try:
        world = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except Exception:  # a truncated or foreign file: rebuilt, never trusted
        return None
    return world if isinstance(world, World) and world.seed == seed else None


def _write(path: Path, world: World) -> None:
    """Write atomically (a temporary file renamed over the target), then keep only the newest WORLDS_KEPT files.
    A cache that cannot be written (read-only folder) costs only the rebuild next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".world-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(world, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        return
    files = sorted(path.parent.glob("world-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    # older worlds, and what a writer stopped mid-way left (a prewarm ended with its `nexus run`) an hour ago or more
    stale = [p for p in path.parent.glob(".world-*.tmp") if time.time() - p.stat().st_mtime > 3600]
    for old in [*files[WORLDS_KEPT:], *stale]:
        with contextlib.suppress(OSError):
            old.unlink()
