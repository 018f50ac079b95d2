"""Shared fixtures: an isolated lake and settings per test, the real publisher files, a free port."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.blas import pin_blas_kernel

pin_blas_kernel()  # the kernel `nexus` pins (pipelines/__init__.py), for the models tests fit in-process

from resources.lake.storage import LakeStorage  # noqa: E402 (after the pin)
from resources.settings import PROJECT_ROOT, Settings, get_settings  # noqa: E402

# the developer's keys and AWS settings, which no test (nor a process a test starts) may pick up
SHELL_SECRETS = (
    "FRED_API_KEY",
    "EIA_API_KEY",
    "CFTC_APP_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
REAL_DATA_DIR = Path(os.environ.get("NEXUS_REAL_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "real"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="list the N tests that used the most CPU seconds (user+sys of pytest and every child it waited for)",
    )


def _cpu_seconds() -> float:
    """User+sys CPU of this process, of every child it (or a child of it) waited for, and of its live descendants
    (a Spark session's JVM and Python workers run for the whole session, so no wait would ever count them)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _live_descendants_cpu_seconds()


def _live_descendants_cpu_seconds() -> float:
    """From /proc (Linux; 0 elsewhere): utime+stime of each live descendant plus what it reaped of its own children."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        ticks[pid] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    mine, frontier = set(), [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in mine]
        mine.update(children)
        frontier.extend(children)
    return sum(ticks[pid] for pid in mine) / os.sysconf("SC_CLK_TCK") if mine else 0.0


_CPU_BY_TEST: dict[str, dict[str, float]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    start = _cpu_seconds()
    yield
    _CPU_BY_TEST.setdefault(item.nodeid, {})["setup"] = _cpu_seconds() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    start = _cpu_seconds()
    yield
    _CPU_BY_TEST.setdefault(item.nodeid, {})["call"] = _cpu_seconds() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    start = _cpu_seconds()
    yield
    _CPU_BY_TEST.setdefault(item.nodeid, {})["teardown"] = _cpu_seconds() - start


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """`--cpu-durations=N`: the costliest tests in CPU seconds, which a shared machine's load does not inflate."""
    count = config.getoption("--cpu-durations")
    if count is None or not _CPU_BY_TEST:
        return
    rows = sorted(
        ((phase, seconds, nodeid) for nodeid, phases in _CPU_BY_TEST.items() for phase, seconds in phases.items()),
        key=lambda row: -row[1],
    )
    total = sum(seconds for _, seconds, _ in rows)
    terminalreporter.write_sep("=", f"{count or len(rows)} costliest phases in CPU seconds ({total:.1f} cpu-s in all)")
    for phase, seconds, nodeid in rows[: count or None]:
        terminalreporter.write_line(f"{seconds:8.2f} cpu-s {phase:<8} {nodeid}")


def pytest_configure(config: pytest.Config) -> None:
    """With xdist workers (`-n 2`), parse the dbt project once in the controller before they start.

    Every code-location load (in a test or a `nexus` process) parses into dbt_project/target when the manifest is
    missing or stale; two workers doing that at once could read each other's half-written manifest.json."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    parse_dbt_project()


def parse_dbt_project() -> None:
    """Bring dbt_project/target's manifest up to date (a no-op when it is), before processes that load the code
    location start side by side. The parse runs in a child process on a scratch lake, so this process's
    environment stays untouched."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
        env |= {
            "NEXUS_LAKE_URI": f"{scratch}/lake",
            "NEXUS_DUCKDB_PATH": f"{scratch}/warehouse/nexus.duckdb",
            "NEXUS_PUBLISHED_DUCKDB_PATH": f"{scratch}/gold/nexus_marts.duckdb",
            "NEXUS_DAGSTER_HOME": f"{scratch}/dagster_home",
        }
        code = "from resources.dbt import dbt_project; from resources.settings import get_settings; "
        code += "dbt_project(get_settings())"  # this child process's edge: its settings, read once
        subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test gets its own lake, DuckDB files and Dagster home, and no secrets from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("NEXUS_") and name != "NEXUS_REAL_DATA_DIR":
            monkeypatch.delenv(name, raising=False)
    for name in SHELL_SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEXUS_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("NEXUS_DUCKDB_PATH", str(tmp_path / "warehouse" / "nexus.duckdb"))
    monkeypatch.setenv("NEXUS_PUBLISHED_DUCKDB_PATH", str(tmp_path / "gold" / "nexus_marts.duckdb"))
    monkeypatch.setenv("NEXUS_DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("NEXUS_HTTP_BACKOFF_S", "0.01")
    monkeypatch.setenv("NEXUS_HTTP_MAX_BACKOFF_S", "0.2")
    monkeypatch.setenv("NEXUS_HTTP_TIMEOUT_S", "5")
    yield


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def storage(settings: Settings) -> LakeStorage:
    return LakeStorage.from_settings(settings)


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real publisher files not found at {REAL_DATA_DIR} (set NEXUS_REAL_DATA_DIR)")
    return REAL_DATA_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def data_lines(path: Path, preamble: int = 1) -> int:
    """Number of non-empty lines after the header/preamble, as a publisher file's data-row count."""
    with path.open("rb") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    return len(lines) - preamble


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (~6 s, ~355 MiB to start), stopped at the end."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
    from resources.spark.session import TINY_DATA_CONF, SparkConfig, build_session

    config = SparkConfig(master="local[2]", app_name="nexus-tests", shuffle_partitions=2, extra_conf=TINY_DATA_CONF)
    session = build_session(config)
    yield session
    session.stop()
