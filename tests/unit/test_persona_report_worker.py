"""The weekly reports drawn in the report worker (a process forked from the forkserver) are byte for byte the ones
drawn in the step's process; a failure there is raised in the step naming the day; no worker outlives its block."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from assets.models.worker_pool import forkserver_running
from assets.personas.report_pdf import render_report
from assets.personas.report_worker import LocalReports, ReportWorker, ReportWorkerError, reports
from assets.personas.wealth_manager import build_wealth_manager
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def report(inputs):
    return build_wealth_manager(inputs, DAY)


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_worker_draws_the_bytes_drawn_here_and_stops(inputs, report):
    ledger = inputs.ledger_until(DAY)[1]
    earlier = build_wealth_manager(inputs, DAY - timedelta(days=7))
    with ReportWorker() as worker:
        worker.submit(DAY - timedelta(days=7), earlier, None)
        worker.submit(DAY, report, ledger)
        assert worker.days == [DAY - timedelta(days=7), DAY]
        assert worker.result(DAY) == render_report(report, ledger)
        assert worker.result(DAY - timedelta(days=7)) == render_report(earlier)
        pids = list(worker._pool._processes)
        assert pids and forkserver_running()
    assert all(_gone(pid) for pid in pids), "the report worker outlived its block"


def test_a_failure_in_the_worker_is_raised_with_the_day(report):
    with ReportWorker() as worker:
        worker.submit(DAY, report, "not a ledger")  # type: ignore[arg-type]
        with pytest.raises(ReportWorkerError, match=f"weekly report of {DAY.isoformat()} failed in the report worker"):
            worker.result(DAY)
        pids = list(worker._pool._processes)
    assert all(_gone(pid) for pid in pids)


def test_without_a_worker_the_reports_are_drawn_here(report):
    with reports(worker=False) as local:
        assert isinstance(local, LocalReports)
        local.submit(DAY, report, None)
        assert local.days == [DAY] and local.result(DAY) == render_report(report)


def test_a_worker_only_when_the_forkserver_runs():
    with ReportWorker():  # starts this process's forkserver, as the model stage does in `nexus run`
        pass
    with reports() as chosen:
        assert isinstance(chosen, ReportWorker)
