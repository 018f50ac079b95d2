"""Ingest in the test's own process exactly as `nexus ingest` would with a given environment.

A `nexus` process pays about 4 CPU-seconds of imports (Great Expectations alone 3.5), so tests whose claim is not
about the CLI call the function it calls (the CLI itself is tested in tests/integration/test_ingest_cli.py).
"""

import os
from collections.abc import Iterable, Mapping
from datetime import date

import pytest

from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.registry import ingest_source


def ingest_as_the_cli(
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    sources: Iterable[str],
    *,
    start: date,
    end: date,
    run_id: str,
) -> None:
    """`nexus ingest <source> --start --end` for each source, with exactly `env`'s NEXUS_* settings (none leak in
    from the test's environment); a failure raises where the CLI would exit non-zero."""
    with monkeypatch.context() as patched:
        for name in [n for n in os.environ if n.startswith("NEXUS_")]:
            patched.delenv(name)
        for name, value in env.items():
            if name.startswith("NEXUS_"):
                patched.setenv(name, value)
        settings = get_settings()
        storage = LakeStorage.from_settings(settings)
        for source in sources:
            ingest_source(source, storage, settings, run_id=run_id, start=start, end=end, files=None)
