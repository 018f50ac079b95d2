"""Model store: exact round trip of predictions, content hashes that only depend on content, idempotent saves,
listing in cutoff order, and refusal to load a tampered artifact."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from assets.models.lgbm import TrainedModel
from assets.models.walk_forward import WalkForwardConfig, prepare_panel, train_at_cutoff
from resources.lake.storage import LakeStorage
from resources.model_store import ModelStore, content_hash, version_name
from tests.unit.test_walk_forward import make_synthetic_panel

CONFIG = WalkForwardConfig(horizon=3, min_train_years=1.0)
CUTOFFS = (date(2017, 6, 30), date(2017, 12, 31))


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_synthetic_panel(n_symbols=3, years=3.5, seed=5)


@pytest.fixture(scope="module")
def models(panel) -> list[TrainedModel]:
    return [train_at_cutoff(*panel, CONFIG, c)[0] for c in CUTOFFS]


def _scoring_rows(panel) -> pd.DataFrame:
    prepared = prepare_panel(*panel, CONFIG)
    return prepared[prepared["trade_date"] > pd.Timestamp("2018-01-15")]


def test_load_round_trips_predictions_exactly(storage: LakeStorage, panel, models):
    store = ModelStore(storage)
    model = models[1]
    version = store.save(model.to_artifact())
    assert version == model.version == version_name(model.metadata.cutoff, model.content_hash)
    loaded = TrainedModel.from_artifact(store.load(model.metadata.name, version))
    rows = _scoring_rows(panel)
    assert np.array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    assert np.array_equal(loaded.predict_raw(rows), model.predict_raw(rows))
    assert loaded.metadata.features == model.metadata.features
    assert loaded.calibrator == model.calibrator
    assert loaded.metadata.created_at is not None
    base = storage.uri("gold", "models", model.metadata.name, version)
    for name in ("model.txt", "calibrator.json", "metadata.json"):
        assert storage.exists(f"{base}/{name}")


def test_metadata_describes_the_training(models):
    meta = models[0].metadata
    assert meta.cutoff == CUTOFFS[0] and meta.horizon == 3 and meta.mode == "pooled"
    assert meta.train_start <= meta.train_end < meta.cutoff
    assert meta.classes == [-1, 0, 1] and meta.n_train > 0
    assert {"lightgbm", "numpy", "pandas", "scikit-learn", "python"} <= set(meta.library_versions)
    assert meta.config["horizon"] == 3 and meta.config["lgbm"]["seed"] == 7
    assert "heldout_brier_raw" in meta.metrics
    assert len(meta.content_hash) == 64


def test_same_inputs_and_seed_give_the_same_hash(panel, models):
    again = train_at_cutoff(*panel, CONFIG, CUTOFFS[0])[0]
    assert again.content_hash == models[0].content_hash
    assert again.model_text == models[0].model_text
    # the timestamp is not content
    stamped = again.to_artifact()
    stamped.metadata.created_at = datetime(2030, 1, 1, tzinfo=UTC)
    assert content_hash(stamped) == models[0].content_hash
    # the content is
    assert models[1].content_hash != models[0].content_hash
    changed = again.to_artifact()
    changed.metadata.metrics = {**changed.metadata.metrics, "n_fit": -1.0}
    assert content_hash(changed) != models[0].content_hash


def test_saving_twice_is_a_no_op(storage: LakeStorage, models):
    store = ModelStore(storage)
    artifact = models[0].to_artifact()
    version = store.save(artifact)
    uri = storage.uri("gold", "models", artifact.metadata.name, version, "metadata.json")
    first = storage.read_bytes(uri)
    assert store.save(artifact) == version
    assert storage.read_bytes(uri) == first  # not rewritten: same created_at
    assert store.list_versions(artifact.metadata.name) == [version]


def test_versions_list_in_cutoff_order(storage: LakeStorage, models):
    store = ModelStore(storage)
    name = models[0].metadata.name
    assert store.list_versions(name) == []
    assert store.latest_version(name) is None
    saved = [store.save(m.to_artifact()) for m in reversed(models)]
    assert store.list_versions(name) == sorted(saved)
    assert store.list_versions(name)[0].startswith("20170630-")
    assert store.latest_version(name) == models[1].version
    assert store.latest_version(name, as_of=date(2017, 9, 1)) == models[0].version
    # a version whose metadata was never written (a crash mid-save) is not listed
    storage.write_bytes(storage.uri("gold", "models", name, "20180630-000000000000", "model.txt"), b"partial")
    assert len(store.list_versions(name)) == 2


def test_a_tampered_artifact_does_not_load(storage: LakeStorage, models):
    store = ModelStore(storage)
    model = models[0]
    version = store.save(model.to_artifact())
    uri = storage.uri("gold", "models", model.metadata.name, version, "model.txt")
    storage.write_bytes(uri, storage.read_bytes(uri).replace(b"Tree=0", b"Tree=0 ", 1))
    with pytest.raises(ValueError, match="content hash mismatch"):
        store.load(model.metadata.name, version)
    with pytest.raises(FileNotFoundError):
        store.load(model.metadata.name, "20990101-000000000000")
