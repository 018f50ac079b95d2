"""The oracle's scores kept in the lake: the evaluation's step computes them, the scorecard's step reads them back
(the same frame to the bit) without building the world; a change to the world's code recomputes them."""

import pandas as pd
import pytest

import assets.models.oracle_cache as oracle_cache
import resources.simulated.oracle as oracle
from assets.models.oracle_cache import cached_oracle_scores, oracle_uri
from resources.lake.storage import LakeStorage


def test_the_oracle_is_computed_once_and_read_back_bit_for_bit(storage: LakeStorage, monkeypatch):
    fresh = oracle.oracle_scores(7, (1, 5))
    first = cached_oracle_scores(storage, 7, (1, 5))
    assert storage.exists(oracle_uri(storage, 7, (1, 5)))
    pd.testing.assert_frame_equal(first, fresh, check_exact=True)

    def no_world(*_: object) -> pd.DataFrame:
        raise AssertionError("the world was built again")

    monkeypatch.setattr(oracle, "oracle_scores", no_world)
    pd.testing.assert_frame_equal(cached_oracle_scores(storage, 7, (1, 5)), fresh, check_exact=True)
    with pytest.raises(AssertionError, match="built again"):  # another seed is another file
        cached_oracle_scores(storage, 8, (1, 5))


def test_new_world_code_recomputes_the_oracle(storage: LakeStorage, monkeypatch):
    cached_oracle_scores(storage, 7, (5,))
    calls = []
    real = oracle.oracle_scores

    def counted(seed: int, horizons: tuple[int, ...]) -> pd.DataFrame:
        calls.append((seed, horizons))
        return real(seed, horizons)

    monkeypatch.setattr(oracle, "oracle_scores", counted)
    monkeypatch.setattr(oracle_cache, "code_hash", lambda *modules: "changed-world-code")
    cached_oracle_scores(storage, 7, (5,))
    cached_oracle_scores(storage, 7, (5,))
    assert calls == [(7, (5,))]  # recomputed once for the new code, then read back
