"""One chain at a time per Dagster home: a second `nexus run` refuses with one clear line.

Two runs at once used to race on creating the instance's SQLite schema (two alembic heads in schedules.db,
every later run broken). The lock is taken before the instance is opened, so its storage is initialised by
one process only; runs the daemon launched are seen through the instance and refused the same way.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

LOCK_FILE = "nexus-run.lock"
CLI_TAG = "nexus/launched_by"
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


class ChainBusy(RuntimeError):
    """Another chain is writing the lake through this Dagster home."""


@contextmanager
def one_chain_at_a_time(home: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on `home` for the duration; raise ChainBusy if it is held.

    The kernel releases the lock when the process dies, so a killed run never leaves a stale lock behind.
    """
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ChainBusy(
                f"another nexus run (pid {holder}) is running on the Dagster home {home}; "
                "wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def refuse_if_runs_in_progress(instance: DagsterInstance) -> None:
    """Refuse while the daemon or the UI has a run going; mark runs of dead `nexus run`s as failed.

    Only called under the lock, so an in-progress run tagged as a CLI run belongs to a process that died.
    """
    for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS)):
        if run.tags.get(CLI_TAG) == "nexus run":
            instance.report_run_failed(run, "the nexus run process that started this run is gone")
            continue
        raise ChainBusy(
            f"run {run.run_id} of {run.job_name} is in progress on this Dagster instance; "
            "wait for it to finish, then run again"
        )
