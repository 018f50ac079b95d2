"""One symbol's walk-forward regimes in a worker process: what the regimes pool needs, and nothing more.

The pool's processes fork from the model stage's forkserver, which imported this module (and hmmlearn) once,
before any thread ran, so a worker starts with its imports done and without inheriting another thread's held
lock (worker_pool.py).
"""

from __future__ import annotations

import pandas as pd

from assets.models.regimes import RegimeConfig, RegimeResult, symbol_regimes
from resources.fit_cache import LakeFitCache
from resources.lake.storage import LakeStorage

RegimeJob = tuple[str, pd.DataFrame, int, RegimeConfig, str, dict[str, str]]


def fit_symbol(job: RegimeJob) -> RegimeResult:
    """(symbol, observations, periods per year, config, lake root, storage options) -> its regimes, fits cached."""
    symbol, observations, ppy, config, root_uri, options = job
    cache = LakeFitCache(LakeStorage(root_uri=root_uri, storage_options=options), "regimes")
    return symbol_regimes(observations, symbol=symbol, periods_per_year=ppy, config=config, cache=cache)
