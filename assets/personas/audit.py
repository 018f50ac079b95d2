"""The audit trail: every persona statement, append-only, with what it rests on (gold/audit/recommendations).

A row records when (as_of, created_at), for whom (persona), about what (subject, symbol), what was said (action,
text, the published item as JSON), from what (the signal rows used as keys, their model versions, feature
snapshot hashes and run ids, other input rows) and why (the ordered rule path), and the run that published it.
Rows are keyed by `recommendation_id`, a hash of the content, and written with `insert_new`, which never rewrites an
existing key: re-running a day adds nothing, and a changed input adds a new recommendation next to the old one.

A compliance reviewer retrieves the full story of one recommendation with `COMPLIANCE_SQL` (DuckDB, over the audit
table and the signals table) or `explain_recommendation`, which runs exactly that SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from assets.personas.models import PersonaItem, PersonaOutput, RuleStep
from resources.lake.delta import MergeStats, insert_new, open_table, read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec

SIGNALS_TABLE_PARTS = ("signals", "daily")  # gold/signals/daily (assets/signals/contract.py)

SIGNAL_KEY = pa.struct(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("signal_date", pa.date32(), nullable=False),
        pa.field("horizon", pa.int32(), nullable=False),
    ]
)
RULE_STEP = pa.struct(
    [
        pa.field("step", pa.int32(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("condition", pa.string(), nullable=False),
        pa.field("observed", pa.string(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
    ]
)

AUDIT_TABLE = TableSpec(
    zone="gold",
    name="audit/recommendations",
    schema=pa.schema(
        [
            pa.field("recommendation_id", pa.string(), nullable=False),
            pa.field("persona", pa.string(), nullable=False),
            pa.field("as_of", pa.date32(), nullable=False),
            pa.field("created_at", UTC_TS, nullable=False),
            pa.field("section", pa.string(), nullable=False),
            pa.field("subject", pa.string(), nullable=False),
            pa.field("symbol", pa.string()),
            pa.field("action", pa.string(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("signal_rows", pa.list_(SIGNAL_KEY), nullable=False),
            pa.field("model_versions", pa.list_(pa.string()), nullable=False),
            pa.field("feature_snapshot_hashes", pa.list_(pa.string()), nullable=False),
            pa.field("signal_run_ids", pa.list_(pa.string()), nullable=False),
            pa.field("data_refs", pa.list_(pa.string()), nullable=False),
            pa.field("rule_path", pa.list_(RULE_STEP), nullable=False),
            pa.field("payload_json", pa.string(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    keys=("recommendation_id",),
    date_column="as_of",
    description="Append-only record of every persona recommendation: inputs, rule path, run (keyed by content hash).",
)

# The compliance reviewer's queries (DuckDB). Relations: `audit_recommendations` (gold/audit/recommendations) and
# `signals_daily` (gold/signals/daily); parameter: $recommendation_id.
STORY_SQL = """
-- 1. What was recommended, to whom, when, by which run, and why: the rules in the order they fired
with rec as (
    select *, unnest(rule_path) as r
    from audit_recommendations
    where recommendation_id = $recommendation_id
)
select recommendation_id, persona, as_of, created_at, run_id, section, subject, action, text,
       model_versions, feature_snapshot_hashes, signal_run_ids, data_refs,
       r.step as step, r.rule as rule, r.condition as condition, r.observed as observed, r.outcome as outcome
from rec
order by step
"""

SIGNALS_SQL = """
-- 2. From what: every signal row the recommendation used, as stored in the signals table
with used as (
    select unnest(signal_rows) as k
    from audit_recommendations
    where recommendation_id = $recommendation_id
)
select used.k.symbol as symbol, used.k.signal_date as signal_date, used.k.horizon as horizon,
       s.direction, s.probability, s.prob_up, s.prob_flat, s.prob_down, s.confidence, s.regime,
       s.ensemble_score, s.size, s.model_version, s.feature_snapshot_hash, s.run_id as signal_run_id
from used
left join signals_daily as s
  on s.symbol = used.k.symbol and s.signal_date = used.k.signal_date and s.horizon = used.k.horizon
order by symbol, signal_date, horizon
"""

COMPLIANCE_SQL = STORY_SQL.strip() + ";\n\n" + SIGNALS_SQL.strip() + ";\n"


class RecommendationStory(BaseModel):
    """Everything the trail knows about one recommendation."""

    model_config = ConfigDict(frozen=True)

    recommendation_id: str
    persona: str
    as_of: date
    created_at: datetime
    run_id: str
    section: str
    subject: str
    action: str
    text: str
    model_versions: list[str]
    feature_snapshot_hashes: list[str]
    signal_run_ids: list[str]
    data_refs: list[str]
    rule_path: list[RuleStep]
    signal_rows: list[dict[str, Any]]
    missing_signal_rows: list[str]
    payload: dict[str, Any]


def _items(outputs: PersonaOutput | Iterable[PersonaOutput] | Iterable[PersonaItem]) -> list[PersonaItem]:
    if isinstance(outputs, PersonaOutput):
        return outputs.items()
    items: list[PersonaItem] = []
    for entry in outputs:
        items.extend(entry.items() if isinstance(entry, PersonaOutput) else [entry])
    return items


def audit_rows(
    outputs: PersonaOutput | Iterable[PersonaOutput] | Iterable[PersonaItem],
    *,
    run_id: str,
    created_at: datetime | None = None,
) -> pa.Table:
    """One audit row per distinct recommendation of the outputs."""
    created_at = created_at or datetime.now(UTC)
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware (UTC)")
    seen: dict[str, dict[str, Any]] = {}
    for item in _items(outputs):
        if item.recommendation_id in seen:
            continue
        seen[item.recommendation_id] = {
            "recommendation_id": item.recommendation_id,
            "persona": item.persona,
            "as_of": item.as_of,
            "created_at": created_at,
            "section": item.section,
            "subject": item.subject,
            "symbol": item.symbol,
            "action": item.action,
            "text": item.text,
            "signal_rows": [r.model_dump() for r in item.signal_refs],
            "model_versions": list(item.model_versions),
            "feature_snapshot_hashes": list(item.feature_snapshot_hashes),
            "signal_run_ids": list(item.signal_run_ids),
            "data_refs": list(item.data_refs),
            "rule_path": [s.model_dump() for s in item.rule_path],
            "payload_json": json.dumps(item.model_dump(mode="json"), sort_keys=True, separators=(",", ":")),
            "run_id": run_id,
        }
    rows = sorted(seen.values(), key=lambda r: r["recommendation_id"])
    return pa.Table.from_pylist(rows, schema=AUDIT_TABLE.schema)


def record_recommendations(
    storage: LakeStorage,
    outputs: PersonaOutput | Iterable[PersonaOutput] | Iterable[PersonaItem],
    *,
    run_id: str,
    created_at: datetime | None = None,
) -> MergeStats:
    """Append the outputs' recommendations that the trail does not hold yet (by recommendation_id)."""
    return insert_new(storage, AUDIT_TABLE, audit_rows(outputs, run_id=run_id, created_at=created_at))


def read_audit(
    storage: LakeStorage, *, persona: str | None = None, as_of: date | None = None, recommendation_id: str | None = None
) -> pa.Table:
    filters: list[tuple[str, str, object]] = []
    if persona is not None:
        filters.append(("persona", "=", persona))
    if as_of is not None:
        filters.append(("as_of", "=", as_of))
    if recommendation_id is not None:
        filters.append(("recommendation_id", "=", recommendation_id))
    return read_table(storage, AUDIT_TABLE, filters=filters or None)


def _signals_table(storage: LakeStorage, dates: list[date], signals: pa.Table | pd.DataFrame | None) -> pa.Table:
    if signals is not None:
        table = signals if isinstance(signals, pa.Table) else pa.Table.from_pandas(signals, preserve_index=False)
    else:
        uri = storage.uri("gold", *SIGNALS_TABLE_PARTS)
        table = None
        if open_table(storage, uri) is not None:
            parts = [read_table(storage, uri, filters=[("signal_date", "=", d)]) for d in sorted(set(dates))]
            table = pa.concat_tables(parts) if parts else None
    if table is None or (table.num_rows == 0 and "symbol" not in table.column_names):
        table = pa.table(
            {
                "symbol": pa.array([], pa.string()),
                "signal_date": pa.array([], pa.date32()),
                "horizon": pa.array([], pa.int32()),
            }
        )
    wanted = [
        "direction",
        "probability",
        "prob_up",
        "prob_flat",
        "prob_down",
        "confidence",
        "regime",
        "ensemble_score",
        "size",
        "model_version",
        "feature_snapshot_hash",
        "run_id",
    ]
    for column in wanted:
        if column not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    if pa.types.is_timestamp(table.schema.field("signal_date").type):
        table = table.set_column(
            table.schema.get_field_index("signal_date"), "signal_date", table["signal_date"].cast(pa.date32())
        )
    return table


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def explain_recommendation(
    storage: LakeStorage, recommendation_id: str, *, signals: pa.Table | pd.DataFrame | None = None
) -> RecommendationStory:
    """The full story of one recommendation, by running COMPLIANCE_SQL over the audit trail and the signals.

    `signals` defaults to the lake's gold/signals/daily table (only the dates the recommendation used are read).
    """
    audit = read_audit(storage, recommendation_id=recommendation_id)
    if audit.num_rows == 0:
        raise KeyError(f"recommendation {recommendation_id!r} is not in the audit trail")
    record = audit.to_pylist()[0]
    dates = [k["signal_date"] for k in record["signal_rows"]]
    signals_daily = _signals_table(storage, dates, signals)
    con = duckdb.connect()
    try:
        con.register("audit_recommendations", audit)
        con.register("signals_daily", signals_daily)
        params = {"recommendation_id": recommendation_id}
        story = _records(con, STORY_SQL, params)
        used = _records(con, SIGNALS_SQL, params)
    finally:
        con.close()
    rules = [
        RuleStep(step=r["step"], rule=r["rule"], condition=r["condition"], observed=r["observed"], outcome=r["outcome"])
        for r in story
    ]
    missing = [f"{u['symbol']}|{u['signal_date']}|{u['horizon']}" for u in used if u["direction"] is None]
    return RecommendationStory(
        recommendation_id=record["recommendation_id"],
        persona=record["persona"],
        as_of=record["as_of"],
        created_at=record["created_at"],
        run_id=record["run_id"],
        section=record["section"],
        subject=record["subject"],
        action=record["action"],
        text=record["text"],
        model_versions=record["model_versions"],
        feature_snapshot_hashes=record["feature_snapshot_hashes"],
        signal_run_ids=record["signal_run_ids"],
        data_refs=record["data_refs"],
        rule_path=rules,
        signal_rows=used,
        missing_signal_rows=missing,
        payload=json.loads(record["payload_json"]),
    )
