"""`nexus run` starts the model stage's forkserver before the models (while the ingest and the marts leave a core
idle); the pools of the model stage then fork their workers from that same server, with the fitting code already
imported (assets/models/worker_pool.py)."""

from __future__ import annotations

import os
import sys
from multiprocessing import forkserver
from pathlib import Path

from assets.models.worker_pool import PRELOAD, model_pool, start_model_workers


def _worker_view() -> tuple[int, bool, str | None]:
    return os.getppid(), all(name in sys.modules for name in PRELOAD), os.environ.get("OPENBLAS_NUM_THREADS")


def test_the_server_started_ahead_is_the_one_the_pools_fork_from():
    start_model_workers()
    server = forkserver._forkserver._forkserver_pid
    assert server is not None and Path(f"/proc/{server}").exists()
    with model_pool(1) as pool:
        parent, preloaded, blas_threads = pool.submit(_worker_view).result()
    assert parent == server  # forked from the server started ahead, not from a second one
    assert preloaded and blas_threads == "1"
    assert forkserver._forkserver._forkserver_pid == server
