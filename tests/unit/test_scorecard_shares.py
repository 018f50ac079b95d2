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
