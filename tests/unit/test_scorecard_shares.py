"""The scorecard's split of models among worker processes: every model exactly once, about equal work, the same
split every run (assets/signals/scorecard.py::_shares)."""

from __future__ import annotations

import pandas as pd

from assets.signals.scorecard import _shares


def _frames(sizes: dict[str, int]) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame({"symbol": ["SPX"] * rows}) for name, rows in sizes.items()}


def test_every_model_lands_in_exactly_one_share_of_about_equal_work():
    sizes = {"lightgbm": 100, "signal": 100, "rule_a": 100, "rule_b": 100, "long_only": 100, "oracle": 70}
    shares = _shares(_frames(sizes), ("SPX",), workers=2)
    names = [name for share in shares for name, _ in share]
    assert sorted(names) == sorted(sizes)
    # models other than rules are evaluated twice (also pooled over the oracle's instruments)
    work = [sum(len(f) * (1 if n.startswith("rule_") else 2) for n, f in share) for share in shares]
    assert len(shares) == 2 and max(work) - min(work) <= 100
    again = _shares(_frames(sizes), ("SPX",), workers=2)
    assert [[n for n, _ in s] for s in again] == [[n for n, _ in s] for s in shares]


def test_one_worker_or_one_model_is_one_share():
    assert len(_shares(_frames({"a": 5, "b": 5}), (), workers=1)) == 1
    assert len(_shares(_frames({"a": 5}), (), workers=4)) == 1


def test_a_pool_task_carries_paths_not_the_frames(tmp_path, monkeypatch):
    """The scorecard's frames reach its workers through `spilled` files: a pool's queue pickles each task in memory
    in the caller, which held ~150 MB twice over at the run's peak (assets/models/worker_pool.py::spilled)."""
    import pickle
    from concurrent.futures import Future

    import numpy as np

    import assets.models.worker_pool as worker_pool
    from assets.models.evaluation import EvaluationConfig
    from assets.signals import scorecard as module

    sent: list[int] = []

    class RecordingPool:
        def __init__(self, workers: int) -> None:
            pass

        def __enter__(self) -> RecordingPool:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def submit(self, fn, *args):
            sent.append(len(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)))
            future: Future = Future()
            future.set_result(fn(*args))
            return future

    big = pd.DataFrame({"x": np.arange(200_000, dtype="float64"), "horizon": 1})
    calls: list[tuple[int, int]] = []

    def fake_metrics(share, features, labels, config, labelled, oracle_symbols):
        calls.append((len(share), len(features)))
        return [(name, pd.DataFrame({"model": [name], "metric": [1.0]})) for name, _ in share]

    monkeypatch.setattr(worker_pool, "model_pool", RecordingPool)
    monkeypatch.setattr(module, "_models_metrics", fake_metrics)
    monkeypatch.setattr(module, "component_predictions", lambda *a: {"a": big, "b": big, "c": big})
    monkeypatch.setattr(module, "labelled_rows", lambda *a: big)
    signals = pd.DataFrame({"horizon": [1], "symbol": ["SPX"], "signal_date": ["2024-01-02"]})
    module.scorecard(signals, big, big, EvaluationConfig(), workers=2)
    assert len(sent) == 2 and max(sent) < 10_000, sent  # the frames are ~1.6 MB each
    assert sorted(calls) == [(1, len(big)), (2, len(big))]
