"""The simulated world's disk cache: a loaded world equals a built one, and only the same seed and code load it."""

import dataclasses
import os

import pandas as pd
import pytest

from resources.settings import Settings
from resources.simulated import world as world_module
from resources.simulated import world_cache
from resources.simulated.world import build_world, world_for
from resources.simulated.world_cache import WORLDS_KEPT, cached_world, load_world, prewarm_world, world_file


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    """Each test starts like a new process: no world handed in from a cache yet."""
    monkeypatch.setattr(world_module, "_REMEMBERED", {})


def _assert_same_world(a, b) -> None:
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, pd.DataFrame):
            pd.testing.assert_frame_equal(left, right, check_exact=True, check_freq=True)
        elif isinstance(left, pd.Series):
            pd.testing.assert_series_equal(left, right, check_exact=True, check_freq=True)
        else:
            assert left == right


def test_a_world_written_by_one_process_is_loaded_by_the_next_equal_to_a_built_one(tmp_path, monkeypatch):
    built = build_world(7)
    first = load_world(Settings(seed=7, cache_dir=tmp_path))  # builds (lru-cached here) and writes
    path = world_file(tmp_path, 7)
    assert path.is_file() and first is built

    monkeypatch.setattr(world_module, "_REMEMBERED", {})  # the next process
    calls = []
    monkeypatch.setattr(world_cache, "build_world", lambda seed: calls.append(seed))
    loaded = cached_world(7, tmp_path)
    assert calls == [] and loaded is not built  # read from the file, not simulated
    _assert_same_world(loaded, built)
    assert world_for(7) is loaded  # what the publisher's emitters get from now on


def test_other_code_or_seed_misses_and_a_broken_file_is_rebuilt(tmp_path, monkeypatch):
    cached_world(7, tmp_path)
    path = world_file(tmp_path, 7)
    assert world_file(tmp_path, 8) != path

    monkeypatch.setattr(world_cache, "WORLD_LIBRARIES", (*world_cache.WORLD_LIBRARIES, "pyarrow"))
    assert world_file(tmp_path, 7) != path  # another library version set: another key, never the old file
    monkeypatch.undo()
    monkeypatch.setattr(world_module, "_REMEMBERED", {})

    path.write_bytes(b"not a pickle")
    rebuilt = cached_world(7, tmp_path)
    _assert_same_world(rebuilt, build_world(7))
    assert path.read_bytes()[:1] == b"\x80"  # written again, as a pickle


def test_only_the_newest_worlds_are_kept(tmp_path):
    folder = tmp_path / "world"
    folder.mkdir()
    for i in range(WORLDS_KEPT + 2):
        old = folder / f"world-{100 + i}-{i:016x}.pickle"
        old.write_bytes(b"old")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    (folder / ".world-abandoned.tmp").write_bytes(b"half a world")  # a writer stopped mid-way, long ago
    os.utime(folder / ".world-abandoned.tmp", (1_000_000, 1_000_000))
    (folder / ".world-writing.tmp").write_bytes(b"being written")  # another process's, now
    cached_world(7, tmp_path)
    assert [p.name for p in folder.glob(".world-*.tmp")] == [".world-writing.tmp"]
    kept = sorted(p.name for p in folder.glob("world-*.pickle"))
    assert len(kept) == WORLDS_KEPT and world_file(tmp_path, 7).name in kept
    assert "world-100-0000000000000000.pickle" not in kept  # the oldest went first


def test_a_prewarmed_world_is_built_by_another_process_and_loaded_here(tmp_path, monkeypatch):
    settings = Settings(seed=7, cache_dir=tmp_path)
    assert prewarm_world(settings)  # a fresh interpreter builds it: ~2.5 CPU s, in that process
    assert not prewarm_world(settings)  # one at a time per seed
    monkeypatch.setattr(world_cache, "build_world", lambda seed: pytest.fail("built here, not by the prewarm"))
    loaded = load_world(settings)  # waits for the other process, then reads its file
    _assert_same_world(loaded, build_world(7))
    assert not prewarm_world(settings)  # the cache holds it now: nothing to start


def test_a_world_of_another_span_is_neither_loaded_nor_remembered(tmp_path, monkeypatch):
    """The span is a generator setting (tests/integration/test_calendar_end.py simulates to 2031): a world cached or
    remembered for one span must not stand in for another, or a lake built past 2030 gets no rows."""
    cached_world(7, tmp_path)  # the default span, written and remembered
    before = world_file(tmp_path, 7)
    monkeypatch.setattr(world_module, "HORIZON", world_module.HORIZON.replace(year=world_module.HORIZON.year + 1))
    assert world_file(tmp_path, 7) != before
    assert world_module.remembered_world(7) is None
