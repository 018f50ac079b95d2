"""The e2e tests' `nexus run`s, started when the session starts, at the lowest CPU priority.

`make test` runs the integration and e2e tests one at a time: one core of two does the work, the other mostly
waits. The default lake's first build (tests/e2e/test_cli_run.py) and the graph on S3 (tests/e2e/test_s3_graph.py)
are each one `nexus run` process that depends on nothing the session does, as are the two runs at once and the
third of tests/e2e/test_one_chain.py (driven by a thread), so they start as soon as collection
has selected their test, niced to 19 so the tests in the foreground keep their speed (the timing-sensitive live
fault tests included); by the time their test comes up their run has usually finished, and the test then asserts
exactly what it asserted of a run it started itself. Each run has its own lake, Dagster home, DuckDB files and,
for S3, its own `moto_server` process on a free port of 127.0.0.1; output goes to files (a pipe nobody reads
would block the run). The daemon test's lake (tests/e2e/test_daemon_postgres.py) is built the same way on a
PostgreSQL server of its own, started with it, so the daemon later finds the build's runs and materializations in
the instance it serves.

Under pytest-xdist workers (every worker collects everything) nothing starts early: the fixture starts the run
when its test asks for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import pytest

from resources.dagster_event_log import BATCH_SIZE_ENV
from resources.dagster_instance import POSTGRES_URL_ENV
from resources.lake.storage import LakeStorage
from tests.conftest import SHELL_SECRETS, free_port, parse_dbt_project
from tests.e2e.chain_fixtures import SHORT_RUN
from tests.e2e.daemon_days import HISTORY_START, LAKE_AS_OF, LAST_DAY, SMALL_UNIVERSE, daemon_env
from tests.postgres_server import postgres_server
from tests.tools.lake_hashes import LakeHashes, hash_build

BIN = Path(sys.executable).parent
NEXUS = str(BIN / "nexus")
NICE = ["nice", "-n", "19", "ionice", "-c", "3"]  # lowest CPU priority, and disk time only when idle
RANGE = ["--start", "2019-07-01", "--end", "2024-06-28"]  # 3 years for walk-forward models plus a signal window


def _boost(process: subprocess.Popen | None) -> None:
    """Back to normal priority once a test waits for `process` (and its process group): niced, it would crawl on
    a machine busy with other work. Best effort: lowering the niceness needs root (CI has it)."""
    if process is not None and process.poll() is None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PGRP, process.pid, 0)


def _popen(args: list[str], *, env: dict[str, str], nice: bool, **kwargs: object) -> subprocess.Popen:
    """`args` in a process group of its own (so `_boost` reaches its children too), niced to 19 and in the idle I/O
    class if `nice` (back to normal CPU priority only: `_boost` leaves the I/O class)."""
    return subprocess.Popen([*(NICE if nice else []), *args], env=env, start_new_session=True, **kwargs)  # type: ignore[call-overload]


def _stop(processes: list[subprocess.Popen]) -> None:
    """Terminate each still running process with its process group (a run's dbt child too), then kill."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Finished:
    """A finished run: its exit code, its output, the environment it ran with (the shell a test reproduces)."""

    returncode: int
    stdout: str
    stderr: str
    env: dict[str, str]
    root: Path
    hashes: LakeHashes | None = None  # what the run built, hashed as it ended (default lake only)


@dataclass
class EarlyRun:
    name: str
    root: Path
    env: dict[str, str]
    args: list[str]
    helpers: list[subprocess.Popen] = field(default_factory=list)
    process: subprocess.Popen | None = None
    hash_when_done: bool = False
    hashes: LakeHashes | None = None

    def start(self) -> None:
        if self.process is None:
            with (self.root / "stdout.txt").open("w") as out, (self.root / "stderr.txt").open("w") as err:
                self.process = _popen([NEXUS, *self.args], env=self.env, nice=True, stdout=out, stderr=err)

    def wait(self, timeout: float) -> Finished:
        self.start()
        assert self.process is not None
        for process in (self.process, *self.helpers):
            _boost(process)
        code = self.process.wait(timeout=timeout)
        out, err = ((self.root / f"{name}.txt").read_text() for name in ("stdout", "stderr"))
        if code == 0 and self.hash_when_done and self.hashes is None:
            self.hashes = hash_run(self.env)  # before any test reads or writes this lake
        return Finished(code, out, err, self.env, self.root, self.hashes)

    def stop(self) -> None:
        _stop([p for p in (self.process, *self.helpers) if p is not None])


def hash_run(env: dict[str, str]) -> LakeHashes:
    """The content hash of what a run with `env` built: its lake, feeds and DuckDB files (tests/tools/lake_hashes)."""
    duckdb_files = [Path(env[name]) for name in ("NEXUS_DUCKDB_PATH", "NEXUS_PUBLISHED_DUCKDB_PATH")]
    return hash_build(
        LakeStorage(root_uri=env["NEXUS_LAKE_URI"]), env["NEXUS_FEEDS_URI"], [f for f in duckdb_files if f.exists()]
    )


def shell_env(root: Path) -> dict[str, str]:
    """A user's shell (no NEXUS_* settings, no secrets of the developer's) pointed at a lake of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") or k == "NEXUS_REAL_DATA_DIR"}
    for name in (*SHELL_SECRETS, BATCH_SIZE_ENV):  # the batch size: set by the SQLite event log in whatever opens it
        env.pop(name, None)
    env.update(
        NEXUS_LAKE_URI=str(root / "lake"),
        NEXUS_FEEDS_URI=str(root / "feeds"),
        NEXUS_DUCKDB_PATH=str(root / "warehouse" / "nexus.duckdb"),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(root / "gold" / "nexus_marts.duckdb"),
        NEXUS_DAGSTER_HOME=str(root / "dagster_home"),
        DAGSTER_HOME=str(root / "dagster_home"),
    )
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    return env


def start_moto_server(root: Path) -> tuple[subprocess.Popen, str]:
    """moto's S3 server as a process of its own (niced like the run it serves), buckets nexus-lake and nexus-feeds."""
    port = free_port()
    log = (root / "moto.txt").open("w")
    command = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = _popen(command, env=dict(os.environ), nice=True, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, (root / "moto.txt").read_text()
        try:
            httpx.get(endpoint, timeout=5)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "moto_server never answered"
            time.sleep(0.2)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret-value",
    )
    for bucket in ("nexus-lake", "nexus-feeds"):
        client.create_bucket(Bucket=bucket)
    return server, endpoint


def default_lake_run(root: Path) -> EarlyRun:
    """`nexus run` on the embedded default, as a user runs it (tests/e2e/test_cli_run.py)."""
    return EarlyRun("default", root, shell_env(root), ["run", *RANGE], hash_when_done=True)


def s3_run(root: Path) -> EarlyRun:
    """`nexus run` with the lake and the feeds in moto's S3 (tests/e2e/test_s3_graph.py)."""
    server, endpoint = start_moto_server(root)
    env = shell_env(root) | {
        "NEXUS_LAKE_URI": "s3://nexus-lake/lake",
        "NEXUS_FEEDS_URI": "s3://nexus-feeds/feeds",
        "NEXUS_SIGNAL_HISTORY_DAYS": "3",  # signals, personas and feeds for the last three days only
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
        "AWS_REGION": "us-east-1",
    }
    return EarlyRun("s3", root, env, ["run", *RANGE], helpers=[server])


class DaemonLake(EarlyRun):
    """`nexus run` from HISTORY_START to LAKE_AS_OF on a PostgreSQL instance (tests/e2e/test_daemon_postgres.py): the
    server starts with the run and stays up until the session ends, so the daemon test serves the same instance."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            "daemon", root, {}, ["run", "--start", HISTORY_START.isoformat(), "--end", LAKE_AS_OF.isoformat()]
        )
        self.server = contextlib.ExitStack()
        self.postgres_url = ""

    def start(self) -> None:
        if self.process is None:
            # outside the run's 0700 folder: the server runs as the postgres user
            workdir = Path(tempfile.mkdtemp(prefix="nexus-pg-"))
            self.server.callback(shutil.rmtree, workdir, ignore_errors=True)
            self.postgres_url = self.server.enter_context(postgres_server(workdir))
            self.env = daemon_env(
                shell_env(self.root)
                | {
                    POSTGRES_URL_ENV: self.postgres_url,
                    "NEXUS_PUBLISHER_CLOCK_FILE": str(self.root / "publisher_clock.json"),
                    "NEXUS_PUBLISHER_MISPRINTS_FILE": str(self.root / "misprints.json"),
                }
                | SMALL_UNIVERSE,
                LAST_DAY,
            )
            super().start()

    def stop(self) -> None:
        super().stop()
        self.server.close()


def daemon_lake(root: Path) -> DaemonLake:
    return DaemonLake(root)


@dataclass
class ChainRuns:
    """Two `nexus run`s started at the same moment on a fresh Dagster home, then a third once both ended."""

    pair: list[tuple[str, int]]
    third: Finished
    env: dict[str, str]
    home: Path


class EarlyChain:
    """tests/e2e/test_one_chain.py's runs (SHORT_RUN, a few weeks), driven by a thread of this process."""

    def __init__(self, root: Path, args: list[str]) -> None:
        self.root, self.args = root, args
        self.env = shell_env(root) | {"NEXUS_START_DATE": "2024-06-03", "NEXUS_END_DATE": "2024-06-28"}
        self.processes: list[subprocess.Popen] = []
        self.result: ChainRuns | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.boosted = False  # a test waits: later processes start at normal priority

    def _launch(self, name: str) -> subprocess.Popen:
        out = (self.root / f"{name}.txt").open("w")
        process = _popen([NEXUS, *self.args], env=self.env, nice=not self.boosted, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def _drive(self) -> None:
        try:
            pair = [self._launch(f"pair{i}") for i in range(2)]
            codes = [p.wait(timeout=1800) for p in pair]
            first = [((self.root / f"pair{i}.txt").read_text(), code) for i, code in enumerate(codes)]
            with (self.root / "third_err.txt").open("w") as err, (self.root / "third.txt").open("w") as out:
                third = _popen([NEXUS, *self.args], env=self.env, nice=not self.boosted, stdout=out, stderr=err)
                self.processes.append(third)
                code = third.wait(timeout=1800)
            outputs = ((self.root / name).read_text() for name in ("third.txt", "third_err.txt"))
            self.result = ChainRuns(
                first, Finished(code, *outputs, self.env, self.root), self.env, Path(self.env["DAGSTER_HOME"])
            )
        except BaseException as exc:  # handed to the test that waits for the chain
            self.error = exc

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._drive, name="early-chain", daemon=True)
            self.thread.start()

    def wait(self, timeout: float) -> ChainRuns:
        self.start()
        assert self.thread is not None
        self.boosted = True
        for process in list(self.processes):
            _boost(process)
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.result is not None, "the chain's runs did not end in time"
        return self.result

    def stop(self) -> None:
        _stop(self.processes)


def one_chain(root: Path) -> EarlyChain:
    return EarlyChain(root, SHORT_RUN)


class EarlyScenario(EarlyRun):
    """The three-day daemon scenario (tests/e2e/scenario_daemon_three_days.py) as a pytest session of its own,
    niced like the runs: its PostgreSQL, code server, daemon, webserver and the daemon's ~25 runs (~650 CPU s)
    take the core the one-at-a-time tests leave idle, and tests/e2e/test_daemon_three_days.py, collected last,
    asserts that it passed."""

    def __init__(self, root: Path) -> None:
        scenario = str(Path(__file__).with_name("scenario_daemon_three_days.py"))
        command = ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--basetemp", str(root / "pytest"), scenario]
        super().__init__("daemon_three_days", root, dict(os.environ), command)

    def start(self) -> None:
        if self.process is None:
            with (self.root / "stdout.txt").open("w") as out, (self.root / "stderr.txt").open("w") as err:
                self.process = _popen(
                    [sys.executable, *self.args], env=self.env, nice=True, stdout=out, stderr=err, cwd=Path.cwd()
                )


def daemon_three_days(root: Path) -> EarlyScenario:
    return EarlyScenario(root)


FACTORIES = {
    "daemon_three_days": daemon_three_days,
    "default_lake_run": default_lake_run,
    "s3_run": s3_run,
    "chain_runs": one_chain,
    "daemon_lake": daemon_lake,
}
EARLY_RUNS = pytest.StashKey[dict[str, EarlyRun | EarlyChain]]()


def start_selected(session: pytest.Session) -> None:
    """After collection: start the early run of every selected test that asks for one (not in xdist workers)."""
    config = session.config
    runs = config.stash.setdefault(EARLY_RUNS, {})
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ()) if name in FACTORIES}
    if wanted:
        parse_dbt_project()  # the runs start side by side: none may parse into dbt_project/target as another reads
    for name in sorted(wanted):
        if name not in runs:
            runs[name] = FACTORIES[name](Path(tempfile.mkdtemp(prefix=f"nexus-early-{name}-")))
            runs[name].start()


def stop_all(config: pytest.Config) -> None:
    """At the session's end: stop what still runs (a session cut short) and remove the runs' lakes."""
    for run in config.stash.get(EARLY_RUNS, {}).values():
        run.stop()
        shutil.rmtree(run.root, ignore_errors=True)


def finished(request: pytest.FixtureRequest, name: str, timeout: float = 1800) -> Finished | ChainRuns:
    """The early run `name`, waited for (started now if collection did not start it)."""
    runs = request.config.stash.setdefault(EARLY_RUNS, {})
    if name not in runs:
        runs[name] = FACTORIES[name](Path(tempfile.mkdtemp(prefix=f"nexus-early-{name}-")))
    return runs[name].wait(timeout)
