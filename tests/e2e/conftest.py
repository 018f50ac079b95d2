"""Fixtures of the end-to-end tests: the real browser, the folder its screenshots are kept in, moto's S3 server, a
PostgreSQL server for the daemon gate test, and the `nexus run`s started when the session starts
(tests/e2e/early_runs.py; the hand-run three-day scenario's on a PostgreSQL server of its own)."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import early_runs
from tests.e2e.browser import artifacts, chromium
from tests.integration.s3_fixtures import moto_s3
from tests.postgres_server import postgres_server

__all__ = ["artifacts", "chromium", "moto_s3"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The three-day daemon scenario's test last: it waits for a scenario that runs beside every other test."""
    items.sort(key=lambda item: "daemon_three_days" in getattr(item, "fixturenames", ()))


def pytest_collection_finish(session: pytest.Session) -> None:
    early_runs.start_selected(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    early_runs.stop_all(session.config)


@pytest.fixture(scope="session")
def default_lake_run(request: pytest.FixtureRequest) -> early_runs.Finished:
    """`nexus run` on the embedded default (its own lake), finished."""
    return early_runs.finished(request, "default_lake_run")


@pytest.fixture(scope="session")
def chain_runs(request: pytest.FixtureRequest) -> early_runs.ChainRuns:
    """Two `nexus run`s at the same moment on a fresh Dagster home, and a third after them (SHORT_RUN), finished."""
    return early_runs.finished(request, "chain_runs")


@pytest.fixture(scope="session")
def s3_run(request: pytest.FixtureRequest) -> early_runs.Finished:
    """`nexus run` on moto's S3 (its own buckets), finished."""
    return early_runs.finished(request, "s3_run")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for one test module (the daemon gate test's instance storage)."""
    workdir = Path(tempfile.mkdtemp(prefix="nexus-pg-"))  # outside pytest's 0700 tmp: the server runs as postgres
    try:
        with postgres_server(workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def daemon_lake(request: pytest.FixtureRequest) -> early_runs.Finished:
    """`nexus run` to daemon_days.LAKE_AS_OF on a PostgreSQL server of its own (its URL in the run's environment,
    the server up until the session ends), finished: the three-day scenario's lake and instance."""
    return early_runs.finished(request, "daemon_lake")


@pytest.fixture(scope="session")
def daemon_three_days(request: pytest.FixtureRequest) -> early_runs.Finished:
    """The three-day daemon scenario, run as a pytest session of its own beside the others, finished."""
    return early_runs.finished(request, "daemon_three_days", timeout=3600)
