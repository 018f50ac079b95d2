"""A crash in the middle of a write leaves every table readable, and a re-run converges to the clean result.

Only the ingests that are killed run as processes; the clean ingest and the re-runs run in this process as the CLI
would (tests/integration/in_process.py). A killed ingest is killed once it has committed a given share of the
clean ingest's Delta commits (its progress, not a clock, which the machine's load would stretch), and must die
of the kill: an ingest that failed or finished on its own would prove nothing.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from resources.lake.catalog import list_tables
from resources.lake.delta import content_hash, read_table
from resources.lake.storage import LakeStorage
from tests.integration.in_process import ingest_as_the_cli

pytestmark = pytest.mark.slow
START, END = date(2021, 1, 1), date(2022, 12, 30)  # SCRIPT's range

SCRIPT = """
import sys
from datetime import date
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.registry import ingest_source
s = get_settings()
storage = LakeStorage.from_settings(s)
for name in sys.argv[1:]:
    ingest_source(name, storage, s, run_id="crash-test", start=date(2021, 1, 1), end=date(2022, 12, 30), files=None)
print("done", flush=True)
"""


def _env(lake: Path) -> dict[str, str]:
    return dict(os.environ, NEXUS_LAKE_URI=str(lake), NEXUS_HTTP_BACKOFF_S="0.01")


def _ingest(lake: Path, sources: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SCRIPT's ingest in this process, with the environment `_env` gives the killed process; raises on failure."""
    ingest_as_the_cli(_env(lake), monkeypatch, sources, start=START, end=END, run_id="crash-test")


def _commits(lake: Path) -> int:
    """Delta commits written under `lake` so far (every table's `_delta_log/*.json`)."""
    return sum(1 for _ in lake.glob("**/_delta_log/*.json"))


def _killed_ingest(lake: Path, sources: list[str], kill_at_commits: int) -> int:
    """SCRIPT's ingest in a process, SIGKILLed as soon as `kill_at_commits` Delta commits are on disk."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, *sources], env=_env(lake), stdout=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while proc.poll() is None and _commits(lake) < kill_at_commits and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return proc.returncode


def _snapshot(lake: Path) -> dict[str, str]:
    storage = LakeStorage(root_uri=str(lake))
    return {
        # object_uri holds the lake root and location the simulated publisher's port, both differ between lakes
        f"{t.zone}/{t.name}": content_hash(
            read_table(storage, t.uri), exclude=("ingested_at", "run_id", "fetched_at", "object_uri", "location")
        )
        for t in list_tables(storage)
    }


def test_killed_ingest_leaves_readable_tables_and_rerun_converges(tmp_path, monkeypatch):
    from resources.sources.registry import available_sources

    sources = available_sources()
    clean = tmp_path / "clean"
    _ingest(clean, sources, monkeypatch)
    expected = _snapshot(clean)
    assert any(name.startswith("silver/") for name in expected)

    # kill at several moments of a fresh ingest: every table stays readable, then one re-run converges
    total = _commits(clean)
    for i, share in enumerate((0.1, 0.4, 0.75)):
        lake = tmp_path / f"crashed-{i}"
        at = max(1, int(total * share))
        assert _killed_ingest(lake, sources, kill_at_commits=at) == -signal.SIGKILL, f"not killed at commit {at}"
        assert at <= _commits(lake) < total, f"killed at {_commits(lake)} of {total} commits"
        storage = LakeStorage(root_uri=str(lake))
        for table in list_tables(storage):
            read_table(storage, table.uri)  # raises if a table were left unreadable
        _ingest(lake, sources, monkeypatch)
        assert _snapshot(lake) == expected, f"re-run after a kill at commit {at} of {total} did not converge"
