"""The walk-forward as the model stage runs it: horizons in parallel processes, fits cached by what they read."""

from __future__ import annotations

import pandas as pd

from assets.models.pipeline import ModelInputs, ModelStageConfig, predictions_frame, run_walk_forward
from assets.models.training import cached_trainer
from assets.models.walk_forward import walk_forward
from resources.fit_cache import LakeFitCache
from resources.lake.storage import LakeStorage
from resources.model_store import ModelStore
from tests.unit.test_walk_forward import FAST, make_synthetic_panel

SMALL = FAST.model_copy(update={"features": ("ret_5d", "cot_spec_z52", "rvol_20d")})


def test_horizons_in_parallel_processes_give_the_models_and_predictions_of_one_process(tmp_path):
    inputs = ModelInputs(*make_synthetic_panel(n_symbols=2, years=5.0, seed=5))
    serial_config = ModelStageConfig(horizons=(1, 5), walk_forward=SMALL, workers=1)
    serial = run_walk_forward(LakeStorage(root_uri=str(tmp_path / "serial")), inputs, serial_config)
    parallel_storage = LakeStorage(root_uri=str(tmp_path / "parallel"))
    parallel = run_walk_forward(parallel_storage, inputs, serial_config.model_copy(update={"workers": 2}))
    assert list(parallel) == [1, 5] and all(len(r.cutoffs) >= 2 for r in parallel.values())
    pd.testing.assert_frame_equal(predictions_frame(parallel), predictions_frame(serial), check_exact=True)
    for h in (1, 5):
        assert [c.model_version for c in parallel[h].cutoffs] == [c.model_version for c in serial[h].cutoffs]
        # the worker processes saved every model in the lake's store
        assert ModelStore(parallel_storage).list_versions(f"lgbm_direction_h{h}_pooled") == sorted(
            c.model_version for c in serial[h].cutoffs
        )


def test_a_column_the_models_do_not_read_changes_nothing_and_keeps_every_cached_fit(tmp_path):
    features, labels = make_synthetic_panel(n_symbols=2, years=5.0, seed=5)
    storage = LakeStorage(root_uri=str(tmp_path))
    store = ModelStore(storage)
    first = walk_forward(features, labels, SMALL, trainer=cached_trainer(store, LakeFitCache(storage, "walk_forward")))
    unread = features.assign(dist_ma200=features["dist_ma200"] + 1.0)  # not one of SMALL's features
    cache = LakeFitCache(storage, "walk_forward")
    again = walk_forward(unread, labels, SMALL, trainer=cached_trainer(store, cache))
    assert cache.misses == 0 and cache.hits == len(first.cutoffs) >= 2
    pd.testing.assert_frame_equal(again.predictions, first.predictions, check_exact=True)
    read = features.assign(rvol_20d=features["rvol_20d"] * 1.5)  # one of them: every fit is new
    cache = LakeFitCache(storage, "walk_forward")
    walk_forward(read, labels, SMALL, trainer=cached_trainer(store, cache))
    assert cache.hits == 0 and cache.misses == len(first.cutoffs)
