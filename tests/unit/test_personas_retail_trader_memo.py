"""Retail trader: what it keeps for every day (signal records, track records) follows the inputs it came from."""

from __future__ import annotations

from assets.personas.retail_trader import build_retail_trader
from tests.unit.test_personas_inputs import DAY, make_inputs


def test_a_copy_with_other_frames_does_not_reuse_the_kept_records():
    inputs = make_inputs()
    before = build_retail_trader(inputs, DAY)
    assert any(c.track_record is not None for c in before.calls)
    assert any(c.signal_refs for c in before.calls)
    bare = inputs.model_copy(
        update={"track_record": inputs.track_record.iloc[0:0], "signals": inputs.signals.iloc[0:0]}
    )
    after = build_retail_trader(bare, DAY)
    assert all(c.track_record is None and not c.signal_refs for c in after.calls)
    assert build_retail_trader(inputs, DAY) == before
