"""One chain per Dagster home: the lock, and runs already in progress on the instance."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.chain_lock import CLI_TAG, LOCK_FILE, ChainBusy, one_chain_at_a_time, refuse_if_runs_in_progress

TRY_LOCK = """
import sys
from pathlib import Path
from pipelines.chain_lock import ChainBusy, one_chain_at_a_time
try:
    with one_chain_at_a_time(Path(sys.argv[1])):
        print("locked")
except ChainBusy as busy:
    print(busy)
"""


def _other_process(home) -> str:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(home)], capture_output=True, text=True).stdout


def test_a_second_process_is_refused_while_the_lock_is_held_and_gets_it_after(tmp_path):
    with one_chain_at_a_time(tmp_path):
        answer = _other_process(tmp_path)
        assert answer.startswith("another nexus run (pid ") and str(tmp_path) in answer
        with pytest.raises(ChainBusy), one_chain_at_a_time(tmp_path):  # same process again: refused too
            pass
    assert _other_process(tmp_path).strip() == "locked"
    assert (tmp_path / LOCK_FILE).read_text() == ""  # the pid is cleared on release


def _started_run(instance: DagsterInstance, tags: dict[str, str]):
    """A run recorded as started, as a run the daemon launched (or a `nexus run` that was killed) leaves it."""
    from dagster import job, op
    from dagster._core.events import DagsterEvent, DagsterEventType

    @op
    def noop() -> None:
        pass

    @job
    def some_job() -> None:
        noop()

    run = instance.create_run_for_job(some_job, tags=tags)
    started = DagsterEvent(DagsterEventType.RUN_START.value, job_name="some_job")
    instance.run_storage.handle_run_event(run.run_id, started)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
    return run


def test_runs_in_progress_refuse_a_new_chain_and_dead_cli_runs_are_closed(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        dead_cli = _started_run(instance, {CLI_TAG: "nexus run"})
        refuse_if_runs_in_progress(instance)  # only a dead CLI run: closed, not refused
        assert instance.get_run_by_id(dead_cli.run_id).status == DagsterRunStatus.FAILURE
        daemon = _started_run(instance, {})
        with pytest.raises(ChainBusy, match=f"run {daemon.run_id} of some_job is in progress"):
            refuse_if_runs_in_progress(instance)
