"""The model stage's worker processes: one forkserver, with the fitting code imported once, for every pool.

Regimes (a pool over symbols) and the walk-forward (a pool over horizons) run their work in worker processes.
They are not forked from the calling process: a child forked from a process with threads running (Delta's,
DuckDB's, OpenMP's after LightGBM has trained) can inherit a held lock and hang. They fork from a forkserver, a
fresh single-threaded process started once per calling process that imports `PRELOAD` before anything runs, so
a worker starts with hmmlearn, LightGBM and scikit-learn's isotonic regression already imported. The walk-forward
used to spawn its workers, and each imported them again (about 2.3 CPU s per worker); every pool now shares the
server (`nexus run` starts it ahead of the models, `start_model_workers`; otherwise the first pool does). The
scorecard, the signals' feature context and the persona reports fork their workers from it too. Each piece of work
is deterministic, so a pool gives the same results as one process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import pickle
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

PRELOAD: tuple[str, ...] = (
    "assets.models.regimes_worker",
    "hmmlearn.hmm",
    "assets.models.pipeline",
    "lightgbm",
    "sklearn.isotonic",
)


def forkserver_context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context every pool of this process must use: whichever pool starts the server fixes its preload
    and environment, so each sets them (a report worker that started it bare left the models without preload)."""
    # every worker single-threaded in BLAS: the pools already use the cores
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def start_model_workers() -> None:
    """Start the forkserver now: its preload (~4 CPU s of imports) then runs on a core the caller leaves idle (the
    ingest and the marts use one) instead of delaying the walk-forward's first workers."""
    forkserver_context()
    forkserver.ensure_running()


def model_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from the model stage's forkserver (a script using it needs the
    `if __name__ == "__main__":` guard)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=forkserver_context())


@contextlib.contextmanager
def spilled(*payloads: Any) -> Iterator[list[Path]]:
    """Each payload pickled to its own file, for workers to `unspill`; the files are deleted on exit.

    Why: a pool pickles each task's arguments in memory before sending them, so frames sent to two workers were
    held twice more in the caller while it sent them (~150 MB at the scorecard, the run's peak). Pickled straight to
    a file, a frame is written buffer by buffer; the tasks carry only paths. Exit the pool before this block."""
    with tempfile.TemporaryDirectory(prefix="nexus-spill-") as folder:
        paths = []
        for number, payload in enumerate(payloads):
            path = Path(folder) / f"payload-{number}.pickle"
            with path.open("wb") as file:
                pickle.dump(payload, file, protocol=pickle.HIGHEST_PROTOCOL)
            paths.append(path)
        yield paths


def unspill(path: Path) -> Any:
    """A payload `spilled` wrote (this project's own file, written by the same code in the calling process)."""
    with path.open("rb") as file:
        return pickle.load(file)


def forkserver_running() -> bool:
    """Whether this process's forkserver is up (`nexus run` starts it ahead of the models): another stage's pool
    forked from it costs a fork, with pandas and the models' libraries imported, instead of a fresh interpreter's
    imports."""
    return forkserver._forkserver._forkserver_pid is not None  # CPython's singleton: no public accessor


__all__ = [
    "PRELOAD",
    "forkserver_context",
    "forkserver_running",
    "model_pool",
    "spilled",
    "start_model_workers",
    "unspill",
]
