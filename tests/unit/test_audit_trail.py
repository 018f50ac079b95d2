"""The audit trail: append-only, idempotent by recommendation_id, and able to tell the full story of a chosen
recommendation end to end (who, when, which run, the rules in order, and the exact signal rows it used)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from assets.personas.audit import (
    AUDIT_TABLE,
    COMPLIANCE_SQL,
    audit_rows,
    explain_recommendation,
    read_audit,
    record_recommendations,
)
from assets.personas.daily import build_all, publish
from assets.personas.hedging_desk import build_hedging_desk
from assets.personas.inputs import PersonaInputs
from resources.lake.delta import read_table
from tests.unit.test_personas_inputs import DAY, MID_MONTH, make_inputs

CREATED = datetime(2024, 6, 28, 22, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def outputs(inputs):
    return build_all(inputs, DAY)


def _count(storage) -> int:
    return read_table(storage, AUDIT_TABLE, columns=["recommendation_id"]).num_rows


def test_rerunning_a_day_adds_nothing(storage, outputs):
    first = publish(storage, outputs, run_id="run-1", created_at=CREATED)
    total = sum(len(o.items()) for o in outputs.values())
    assert first["audit/recommendations"].added == total == _count(storage)
    again = publish(storage, outputs, run_id="run-2")  # a re-run of the same day, later, by another run
    assert again["audit/recommendations"].added == 0 and _count(storage) == total
    runs = set(read_audit(storage)["run_id"].to_pylist())
    assert runs == {"run-1"}  # existing entries are never rewritten


def test_append_only_a_changed_recommendation_is_added_next_to_the_old_one(storage, inputs, outputs):
    record_recommendations(storage, outputs["hedging_desk"], run_id="run-1", created_at=CREATED)
    before = set(read_audit(storage, persona="hedging_desk")["recommendation_id"].to_pylist())
    signals = inputs.signals.copy()
    wti = (signals["signal_date"] == pd.Timestamp(DAY)) & (signals["symbol"] == "WTI")
    signals.loc[wti, "model_version"] = "lgbm-retrained"
    changed = build_hedging_desk(inputs.model_copy(update={"signals": signals}), DAY)
    stats = record_recommendations(storage, changed, run_id="run-3", created_at=CREATED)
    after = set(read_audit(storage, persona="hedging_desk")["recommendation_id"].to_pylist())
    assert before < after and stats.added == len(after - before) >= 1
    new = read_audit(storage, persona="hedging_desk").to_pandas()
    assert set(new[new["recommendation_id"].isin(after - before)]["subject"]) >= {"crude-inventory-cushing"}


def test_other_days_accumulate(storage, inputs, outputs):
    record_recommendations(storage, outputs.values(), run_id="run-1", created_at=CREATED)
    record_recommendations(storage, build_all(inputs, MID_MONTH).values(), run_id="run-4", created_at=CREATED)
    days = set(read_audit(storage)["as_of"].to_pylist())
    assert days == {DAY, MID_MONTH}
    assert read_audit(storage, as_of=MID_MONTH).num_rows > 0


def _write_signals_table(storage, inputs: PersonaInputs) -> None:
    """The signals stage's gold table, as the audit query expects to find it (gold/signals/daily)."""
    frame = inputs.signals.copy()
    frame["signal_date"] = frame["signal_date"].dt.date
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_deltalake(storage.uri("gold", "signals", "daily"), table, mode="overwrite")


def test_the_audit_trail_explains_a_chosen_recommendation_end_to_end(storage, inputs, outputs):
    publish(storage, outputs, run_id="run-2024-06-28", created_at=CREATED)
    _write_signals_table(storage, inputs)
    chosen = next(r for r in outputs["hedging_desk"].recommendations if r.exposure_id == "crude-inventory-cushing")
    story = explain_recommendation(storage, chosen.recommendation_id)  # signals read from the lake

    # when, for whom, which run, what was said
    assert (story.persona, story.as_of, story.run_id) == ("hedging_desk", DAY, "run-2024-06-28")
    assert story.created_at == CREATED and story.subject == "crude-inventory-cushing"
    assert story.action == "HEDGE_NOW" and story.text == chosen.text
    # why: the rules, in order, up to the one that decided
    assert [s.step for s in story.rule_path] == list(range(1, len(story.rule_path) + 1))
    rules = [s.rule for s in story.rule_path]
    assert rules[:3] == ["hedging_desk.risk_off", "hedging_desk.min_confidence", "hedging_desk.edge_threshold"]
    decisive = story.rule_path[2]
    assert "HEDGE_NOW" in decisive.outcome and "-0.05" in decisive.condition and decisive.observed == "-0.4500"
    # from what: the exact signal row, joined from the signals table, with its model and feature snapshot
    assert [(r["symbol"], r["signal_date"], r["horizon"]) for r in story.signal_rows] == [("WTI", DAY, 10)]
    row = story.signal_rows[0]
    source = inputs.signals_on(DAY, 10).set_index("symbol").loc["WTI"]
    assert row["direction"] == "DOWN" and row["probability"] == pytest.approx(0.60)
    assert row["model_version"] == source["model_version"] and story.model_versions == [source["model_version"]]
    assert row["feature_snapshot_hash"] == source["feature_snapshot_hash"] == story.feature_snapshot_hashes[0]
    assert row["signal_run_id"] == source["run_id"] and story.missing_signal_rows == []
    assert "exposure:crude-inventory-cushing" in story.data_refs and any(
        r.startswith("energy@") for r in story.data_refs
    )
    # and the published item itself, byte for byte
    assert story.payload == chosen.model_dump(mode="json")


def test_a_missing_signal_row_is_reported_not_hidden(storage, outputs):
    record_recommendations(storage, outputs["retail_trader"], run_id="r", created_at=CREATED)
    spx = next(c for c in outputs["retail_trader"].calls if c.subject == "SPX")
    story = explain_recommendation(
        storage, spx.recommendation_id, signals=pd.DataFrame({"symbol": ["NDX"], "signal_date": [DAY], "horizon": [5]})
    )
    assert story.missing_signal_rows == [f"SPX|{DAY.isoformat()}|5"]


def test_compliance_sql_is_the_query_the_helper_runs():
    assert "$recommendation_id" in COMPLIANCE_SQL
    assert "audit_recommendations" in COMPLIANCE_SQL and "signals_daily" in COMPLIANCE_SQL
    assert COMPLIANCE_SQL.count(";") == 2


def test_unknown_recommendation_and_naive_timestamps_are_refused(storage, outputs):
    with pytest.raises(KeyError):
        explain_recommendation(storage, "0" * 32)
    with pytest.raises(ValueError, match="timezone"):
        audit_rows(outputs["casual_investor"], run_id="r", created_at=datetime(2024, 6, 28))


def test_audit_rows_follow_the_table_contract(outputs):
    rows = audit_rows(outputs.values(), run_id="r", created_at=CREATED)
    assert rows.schema == AUDIT_TABLE.schema
    assert rows.num_rows == len(set(rows["recommendation_id"].to_pylist()))
    assert all(path for path in rows["rule_path"].to_pylist())
