"""The Spark job's executor side follows the nightly row policy, without a Spark session (it is plain Arrow code)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pyarrow as pa

from resources.lake.bronze import RawPayload, put_payloads
from resources.quality.row_policy import RowPolicy
from resources.spark.backfill import source_manifest
from resources.spark.plans import TablePlan, plans_for
from resources.spark.spark_job import _PAYLOAD_SCHEMA, REJECT, SEQ, parse_partition

AT = datetime(2026, 1, 2, tzinfo=UTC)


def _csv(series: str, rows: int, bad: set[int]) -> bytes:
    lines = [f"observation_date,{series}"]
    for i in range(rows):
        day = f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}"
        lines.append(f"{day},{'oops' if i in bad else f'{1 + i / 100:.2f}'}")
    return ("\n".join(lines) + "\n").encode()


def _run(storage, policy: RowPolicy, plan: TablePlan | None = None) -> tuple[pa.Table, list[dict]]:
    payloads = [
        RawPayload("fred", "AAA", "/files/AAA.csv", _csv("AAA", 300, {7}), AT),  # 1 bad row in 300: kept
        RawPayload("fred", "BBB", "/files/BBB.csv", _csv("BBB", 300, set(range(0, 300, 10))), AT),  # 10%: whole
    ]
    put_payloads(storage, payloads, "r1")
    plan = plan or plans_for("fred")[0]
    rows = source_manifest(storage, "fred", plan)
    batch = pa.Table.from_pylist(
        [{**{k: r[k] for k in _PAYLOAD_SCHEMA.names if k != SEQ}, SEQ: i} for i, r in enumerate(rows)],
        schema=_PAYLOAD_SCHEMA,
    ).to_batches()
    out = pa.Table.from_batches(
        list(
            parse_partition(
                iter(batch), storage=storage, plan=plan, start=None, end=None, ingested_at=AT, policy=policy
            )
        )
    )
    refusals = [json.loads(v) for v in out[REJECT].to_pylist() if v is not None]
    return out.filter(out[REJECT].is_null()), refusals


def test_a_few_bad_rows_are_quarantined_and_the_good_rows_kept(storage):
    good, refusals = _run(storage, RowPolicy())
    assert sorted(r["kind"] for r in refusals) == ["partial", "rows"]
    partial = next(r for r in refusals if r["kind"] == "partial")
    assert partial["good"] == 299 and len(partial["rejections"]) == 1
    assert set(good["series_id"].to_pylist()) == {"AAA"} and good.num_rows == 299


def test_a_stricter_policy_rejects_the_payload_whole(storage):
    good, refusals = _run(storage, RowPolicy(max_bad_row_share=0.0))
    assert sorted(r["kind"] for r in refusals) == ["rows", "rows"] and good.num_rows == 0


def _twice_the_first_row(payload: RawPayload):
    result = plans_for("fred")[0].parse(payload)
    return replace(result, table=pa.concat_tables([result.table, result.table.slice(0, 1)]))


def test_a_payload_offering_a_key_twice_is_refused_as_the_local_merge_refuses_it(storage):
    """Checked per payload on the executor (one Arrow table), so the driver needs no shuffle to find it."""
    plan = replace(plans_for("fred")[0], parse=_twice_the_first_row)
    good, refusals = _run(storage, RowPolicy(max_bad_row_share=1.0), plan)
    assert [r for r in refusals if r["kind"] == "duplicate"] == [{"kind": "duplicate", "keys": 1}] * 2
    assert good.num_rows == 0
