"""The weekly PDF reports, drawn in a second process while the step's own process builds and publishes.

Why: drawing a 31-day window's five weekly reports (matplotlib charts, reportlab) took about 1.75 CPU s of the
persona step, one after another with the day builds, the Delta commits and the JSON documents, while the second
core sat idle. When the model stage's forkserver runs in this process (`nexus run` runs every job in one process,
the models before the personas), `reports()` forks one worker from it: pandas and the models' libraries are
already imported there, so the worker only imports matplotlib and reportlab (about 1 CPU s, while this process
loads its inputs and builds the days), draws each report as soon as its day is built and hands back the bytes.
Without a running forkserver the reports are drawn here, as before: a fresh interpreter (spawned, or a forkserver
started for it) costs about 3 CPU s of imports, more than the reports themselves.

The PDF's bytes depend only on the wealth manager's output and the ledger given (`render_report` is deterministic:
reportlab's invariant mode, dates set to the report's day), so a report drawn there is byte for byte the one
drawn here. The worker is forked from the forkserver, not from this process (it has threads: a child forked from
it can inherit a held lock). A failure in the worker (an exception in a report, or the process dying) is raised in
the step as `ReportWorkerError`, naming the report's day; leaving the `with` block always shuts the worker down.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from assets.models.worker_pool import forkserver_context, forkserver_running
from resources.errors import NexusError

if TYPE_CHECKING:  # the caller has pandas and the models; matplotlib and reportlab are imported where reports are
    import pandas as pd

    from assets.personas.models import WealthManagerOutput


class ReportWorkerError(NexusError):
    """A weekly report could not be drawn in the report worker (its exception, or the worker process died)."""


class Reports(Protocol):
    """Where the weekly reports are drawn: `submit` each day's, then `result` gives its bytes (a context manager)."""

    @property
    def days(self) -> list[date]: ...

    def submit(self, day: date, output: WealthManagerOutput, ledger: pd.DataFrame | None) -> None: ...

    def result(self, day: date) -> bytes: ...

    def __enter__(self) -> Reports: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


def _render(output: WealthManagerOutput, ledger: pd.DataFrame | None) -> bytes:
    from assets.personas.report_pdf import render_report  # matplotlib and reportlab: not with the definitions

    return render_report(output, ledger)


def _preload() -> None:
    """The worker's initializer: matplotlib and reportlab imported before the first report is asked for."""
    import assets.personas.report_pdf  # noqa: F401


def _ready() -> bool:
    return True


class LocalReports:
    """The reports drawn in this process, each as it is submitted."""

    def __init__(self) -> None:
        self._reports: dict[date, bytes] = {}

    @property
    def days(self) -> list[date]:
        """The days whose reports were submitted, in the order they were."""
        return list(self._reports)

    def submit(self, day: date, output: WealthManagerOutput, ledger: pd.DataFrame | None) -> None:
        self._reports[day] = _render(output, ledger)

    def result(self, day: date) -> bytes:
        return self._reports[day]

    def __enter__(self) -> LocalReports:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._reports.clear()


class ReportWorker:
    """One worker process, forked from this process's forkserver, drawing reports in the order submitted."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=forkserver_context(), initializer=_preload)
        self._pool.submit(_ready)  # the worker starts (and imports) now, not at the first report
        self._reports: dict[date, Future[bytes]] = {}

    @property
    def days(self) -> list[date]:
        """The days whose reports were submitted, in the order they were."""
        return list(self._reports)

    def submit(self, day: date, output: WealthManagerOutput, ledger: pd.DataFrame | None) -> None:
        """Draw `day`'s report (`render_report(output, ledger)`) in the worker."""
        self._reports[day] = self._pool.submit(_render, output, ledger)

    def result(self, day: date) -> bytes:
        """The PDF bytes of `day`'s report, once drawn; a failure in the worker raises `ReportWorkerError`."""
        try:
            return self._reports[day].result()
        except Exception as exc:  # the worker's own exception, pickled back, or BrokenProcessPool
            raise ReportWorkerError(
                f"the weekly report of {day.isoformat()} failed in the report worker: {type(exc).__name__}: {exc}"
            ) from exc

    def __enter__(self) -> ReportWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Stop the worker: reports not started are cancelled, the process is joined."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def reports(*, worker: bool | None = None) -> Reports:
    """A report worker when the forkserver already runs in this process (`worker=None`), else the reports drawn
    here; `worker=True`/`False` chooses (tests)."""
    use_worker = forkserver_running() if worker is None else worker
    return ReportWorker() if use_worker else LocalReports()
