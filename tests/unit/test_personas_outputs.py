"""What every persona output shares: determinism, content-derived ids, provenance, JSON Schemas, gold rows and
their Delta tables (partitioned by date, idempotent), and the feed registration."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from assets.personas.common import recommendation_id
from assets.personas.daily import build_all
from assets.personas.inputs import PersonaInputs
from assets.personas.models import ITEM_MODELS, OUTPUT_MODELS, PERSONAS
from assets.personas.tables import (
    FEED_DATASETS,
    PERSONA_TABLES,
    json_schemas,
    output_json,
    output_rows,
    write_json_schemas,
    write_output,
)
from resources.feeds.datasets import get_dataset, json_schema, rows_for_day
from resources.lake.delta import content_hash, read_table
from resources.lake.tables import conform
from resources.settings import PROJECT_ROOT
from tests.unit.test_personas_inputs import DAY, MID_MONTH, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def outputs(inputs):
    return build_all(inputs, DAY)


def test_builders_are_pure_and_deterministic(inputs, outputs):
    again = build_all(make_inputs(), DAY)  # rebuilt from scratch: same inputs, same bytes
    for persona in PERSONAS:
        assert output_json(outputs[persona]) == output_json(again[persona]), persona
        assert content_hash(output_rows(outputs[persona])) == content_hash(output_rows(again[persona]))
    shuffled = inputs.model_copy(update={"signals": inputs.signals.sample(frac=1.0, random_state=1)})
    assert output_json(build_all(shuffled, DAY)["hedge_fund"]) == output_json(outputs["hedge_fund"])


_DIGEST = """
import hashlib
from tests.unit.test_personas_inputs import DAY, make_inputs
from assets.personas.daily import build_all
from assets.personas.report_pdf import render_report
from assets.personas.tables import output_json
outs = build_all(make_inputs(), DAY)
docs = b"".join(output_json(outs[p]) for p in sorted(outs)) + render_report(outs["wealth_manager"])
print(hashlib.sha256(docs).hexdigest())
"""


def test_outputs_and_pdf_are_identical_across_processes(outputs):
    """Another interpreter with another string-hash seed: no set or dict order leaks into an output."""
    from assets.personas.report_pdf import render_report

    here = b"".join(output_json(outputs[p]) for p in sorted(outputs)) + render_report(outputs["wealth_manager"])
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", _DIGEST], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == hashlib.sha256(here).hexdigest()


def test_ids_are_unique_and_derived_from_the_content(outputs):
    for persona, output in outputs.items():
        items = output.items()
        assert items, persona
        ids = [i.recommendation_id for i in items]
        assert len(ids) == len(set(ids)) and all(len(i) == 32 for i in ids)
        for item in items:
            content = item.model_dump(mode="json", exclude={"recommendation_id"})
            assert item.recommendation_id == recommendation_id(content)  # tamper-evident


def test_a_changed_input_changes_only_the_affected_ids(inputs, outputs):
    signals = inputs.signals.copy()
    spx = (signals["signal_date"] == pd.Timestamp(DAY)) & (signals["symbol"] == "SPX") & (signals["horizon"] == 5)
    signals.loc[spx, "model_version"] = "lgbm-h5-retrained"
    changed = build_all(inputs.model_copy(update={"signals": signals}), DAY)["retail_trader"]
    before = {c.subject: c.recommendation_id for c in outputs["retail_trader"].calls}
    after = {c.subject: c.recommendation_id for c in changed.calls}
    assert before["SPX"] != after["SPX"]
    assert {s: i for s, i in before.items() if s != "SPX"} == {s: i for s, i in after.items() if s != "SPX"}


def test_every_item_carries_its_provenance_and_rule_path(outputs):
    for output in outputs.values():
        for item in output.items():
            assert item.as_of == DAY and item.persona == output.persona
            assert item.rule_path and [s.step for s in item.rule_path] == list(range(1, len(item.rule_path) + 1))
            assert item.signal_refs or item.data_refs, (item.section, item.subject)
            if item.signal_refs:
                assert item.model_versions and item.feature_snapshot_hashes and item.signal_run_ids


def test_json_documents_validate_against_the_published_schemas(outputs, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schemas = json_schemas()
    assert set(schemas) == set(OUTPUT_MODELS)
    for persona, output in outputs.items():
        document = json.loads(output_json(output))
        jsonschema.validate(document, schemas[persona])
        assert OUTPUT_MODELS[persona].model_validate(document) == output  # the JSON round-trips
    written = write_json_schemas(tmp_path)
    assert len(written) == 6 and all(json.loads(p.read_text()) for p in written)


def test_rows_follow_the_table_contract(outputs):
    for persona, output in outputs.items():
        rows = output_rows(output)
        spec = PERSONA_TABLES[persona]
        assert rows.schema == spec.schema and conform(rows, spec).num_rows == len(output.items())
        assert rows.column_names[:4] == ["as_of", "persona", "section", "recommendation_id"]
        assert set(rows["as_of"].to_pylist()) == {DAY}
        sections = {m.model_fields["section"].default for m in ITEM_MODELS[persona]}
        assert set(rows["section"].to_pylist()) <= sections
        refs = [json.loads(v) for v in rows["signal_refs"].to_pylist()]
        assert all(isinstance(r, list) for r in refs)
        assert spec.partition_by == ("as_of",) and spec.name == f"personas/{persona}"


def test_gold_tables_replace_their_day_and_keep_other_days(storage, inputs, outputs):
    other = build_all(inputs, MID_MONTH)
    for persona in PERSONAS:
        write_output(storage, other[persona])
        write_output(storage, outputs[persona])
        write_output(storage, outputs[persona])  # a re-run of the day
        table = read_table(storage, PERSONA_TABLES[persona])
        by_day = pd.Series(table["as_of"].to_pylist()).value_counts()
        assert by_day[DAY] == len(outputs[persona].items())
        assert by_day[MID_MONTH] == len(other[persona].items())
        day_rows = table.filter(pa.compute.equal(table["as_of"], pa.scalar(DAY, pa.date32())))
        assert content_hash(day_rows) == content_hash(output_rows(outputs[persona]))


def test_persona_tables_are_feed_datasets(storage, outputs):
    from assets.feeds.runner import register_feed_datasets

    write_output(storage, outputs["hedging_desk"])
    register_feed_datasets()  # the feeds stage adds them, explicitly (not on import)
    dataset = get_dataset("persona_hedging_desk")
    assert dataset is FEED_DATASETS["hedging_desk"] and dataset.date_column == "as_of"
    rows = rows_for_day(storage, dataset, DAY, ["WTI", "BRENT", "NATGAS"])
    assert set(rows["symbol"].to_pylist()) == {"WTI", "BRENT", "NATGAS"}  # entitlements apply
    schema = json_schema(dataset, rows.schema)
    assert "recommendation_id" in schema["properties"]
    assert {d.name for d in FEED_DATASETS.values()} >= {"persona_hedge_fund", "persona_wealth_manager"}


def test_a_day_without_signals_still_gives_honest_outputs(inputs):
    quiet = date(2023, 1, 5)
    outs = build_all(inputs, quiet)
    assert all(c.light == "YELLOW" and c.action == "NO_TRADE" for c in outs["retail_trader"].calls)
    assert outs["hedge_fund"].signals == [] and outs["casual_investor"].daily.mood == "QUIET"
    assert all(r.action == "SCALE_IN" for r in outs["hedging_desk"].recommendations)
