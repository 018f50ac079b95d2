"""Re-runs with nothing new: a stage skips when its inputs, code and config are unchanged and its outputs are as it
left them; personas publish a window of days in one commit per table with the same rows as day by day; an
unchanged mart gets no new Delta version; the run's timing table adds up."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from assets.personas.audit import AUDIT_TABLE
from assets.personas.daily import build_all, publish, publish_days
from assets.personas.tables import PERSONA_TABLES
from pipelines.runner import JobOutcome, StepLine, orchestration_seconds, timing_rows
from resources.lake.delta import content_hash, open_table, overwrite_table, read_table
from resources.lake.gold import publish_to_delta, same_rows
from resources.lake.stage_state import StageFingerprint, record_run, table_versions, unchanged
from resources.lake.storage import LakeStorage
from tests.unit.test_personas_inputs import DAY, MID_MONTH, make_inputs

CREATED = datetime(2024, 6, 28, 22, 30, tzinfo=UTC)


def _fingerprint(storage: LakeStorage, inputs: list[str], code: str = "c1", config: str = "k1") -> StageFingerprint:
    return StageFingerprint(stage="demo", inputs=table_versions(storage, inputs), code=code, config=config)


def test_a_stage_skips_only_when_inputs_code_config_and_outputs_are_unchanged(storage):
    source, target = storage.uri("gold", "demo", "source"), storage.uri("gold", "demo", "target")
    overwrite_table(storage, source, pa.table({"x": [1, 2]}))
    assert unchanged(storage, _fingerprint(storage, [source]), [target]) is None  # never built
    overwrite_table(storage, target, pa.table({"y": [3]}))
    record_run(storage, _fingerprint(storage, [source]), [target], {"rows": 1})

    record = unchanged(storage, _fingerprint(storage, [source]), [target])
    assert record is not None and record.summary == {"rows": 1}
    assert unchanged(storage, _fingerprint(storage, [source], code="c2"), [target]) is None
    assert unchanged(storage, _fingerprint(storage, [source], config="k2"), [target]) is None
    overwrite_table(storage, target, pa.table({"y": [4]}))  # someone else rewrote the output: rebuild
    assert unchanged(storage, _fingerprint(storage, [source]), [target]) is None
    record_run(storage, _fingerprint(storage, [source]), [target])
    overwrite_table(storage, source, pa.table({"x": [1, 2, 3]}))  # a new input version: rebuild
    assert unchanged(storage, _fingerprint(storage, [source]), [target]) is None


@pytest.fixture(scope="module")
def two_days():
    inputs = make_inputs()
    return {MID_MONTH: build_all(inputs, MID_MONTH), DAY: build_all(inputs, DAY)}


def test_publishing_a_window_at_once_writes_the_same_rows_as_day_by_day_in_one_commit(storage, tmp_path, two_days):
    by_day = LakeStorage(root_uri=str(tmp_path / "day_by_day"))
    for outputs in two_days.values():
        publish(by_day, outputs, run_id="run-1", created_at=CREATED)
    stats = publish_days(storage, two_days, run_id="run-1", created_at=CREATED)

    for spec in [*PERSONA_TABLES.values(), AUDIT_TABLE]:
        assert content_hash(read_table(storage, spec)) == content_hash(read_table(by_day, spec)), spec.name
    versions = table_versions(storage, [storage.uri("gold", *s.path_parts()) for s in PERSONA_TABLES.values()])
    assert set(versions.values()) == {1}  # created, then one commit for both days
    assert stats["audit/recommendations"].added == read_table(storage, AUDIT_TABLE).num_rows > 0

    again = publish_days(storage, two_days, run_id="run-2")  # a re-run replaces exactly those days
    assert again["audit/recommendations"].added == 0
    for spec in PERSONA_TABLES.values():
        assert content_hash(read_table(storage, spec)) == content_hash(read_table(by_day, spec)), spec.name


def test_an_unchanged_mart_gets_no_new_delta_version(storage, tmp_path):
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_demo as select range as id, range * 0.5 as v from range(50)")
    first = publish_to_delta(storage, build, [("marts", "fct_demo")])
    uri = storage.uri("gold", "marts", "fct_demo")
    second = publish_to_delta(storage, build, [("marts", "fct_demo")])
    assert first[0].written and not second[0].written and open_table(storage, uri).version() == 0
    with duckdb.connect(str(build)) as con:
        con.execute("update marts.fct_demo set v = -1 where id = 7")
    third = publish_to_delta(storage, build, [("marts", "fct_demo")])
    assert third[0].written and open_table(storage, uri).version() == 1


def test_same_rows_ignores_order_but_not_values_or_columns():
    a = pa.table({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    assert same_rows(a, a.take([2, 0, 1]))
    assert not same_rows(a, pa.table({"k": [1, 2, 3], "v": ["a", "b", "x"]}))
    assert not same_rows(a, pa.table({"k": [1, 2, 3], "w": ["a", "b", "c"]}))
    assert not same_rows(a, a.slice(0, 2))


def test_the_timing_table_shows_each_stage_its_steps_rows_and_skips():
    models = JobOutcome(
        job="models_job",
        run_id="r1",
        success=True,
        seconds=10.0,
        steps=[
            StepLine("gold__models__regimes", "ok", 2.0, ["gold/models/regimes"], rows=0, skipped=1),
            StepLine("gold__models__oos_predictions", "ok", 6.0, ["gold/models/oos_predictions"], rows=500),
            StepLine("evaluation_leak_check", "ok", 0.5, []),
        ],
        failed_checks=[],
    )
    rows = timing_rows([models])
    assert [(r.stage, r.step, r.rows, r.skipped) for r in rows] == [
        ("models", "", 500, "1/2"),
        ("models", "gold__models__oos_predictions", 500, "no"),
        ("models", "gold__models__regimes", 0, "yes"),
    ]
    assert orchestration_seconds([models]) == pytest.approx(1.5)


def test_only_the_simulated_publisher_can_skip_an_ingest(storage, settings):
    from datetime import date

    from assets.ingest.cboe import CBOE
    from assets.ingest.factory import ingest_fingerprint

    as_of = date(2024, 6, 28)
    simulated, outputs = ingest_fingerprint(CBOE, storage, settings, as_of)
    assert simulated is not None and outputs == [storage.uri("silver", "cboe", "index_closes")]
    reseeded, _ = ingest_fingerprint(CBOE, storage, settings.model_copy(update={"seed": 8}), as_of)
    later, _ = ingest_fingerprint(CBOE, storage, settings, date(2024, 7, 1))
    assert len({simulated.digest(), reseeded.digest(), later.digest()}) == 3
    live, _ = ingest_fingerprint(CBOE, storage, settings.model_copy(update={"source_mode": "live"}), as_of)
    assert live is None  # a live publisher can revise history without the lake knowing: always fetched


def test_rows_written_are_what_a_step_wrote_not_its_table_size():
    from dagster import MetadataValue

    from pipelines.runner import _rows_and_skip

    silver = {"added": MetadataValue.int(5), "revised": MetadataValue.int(2), "dagster/row_count": 100}
    assert _rows_and_skip(silver) == (7, 0)
    assert _rows_and_skip({"rows_written": 3, "dagster/row_count": 100}) == (3, 0)
    assert _rows_and_skip({"dagster/row_count": MetadataValue.int(40)}) == (40, 0)
    assert _rows_and_skip({"skipped": MetadataValue.text("skipped: inputs unchanged"), "rows_written": 9}) == (0, 1)
