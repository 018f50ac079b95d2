"""Persona outputs as gold Delta tables (one per persona, partitioned by `as_of`), JSON documents and schemas.

A persona's table holds its items, one row per item, with a `section` column saying which part of the output a
row belongs to. Columns are derived from the item models: scalars keep their type, nested values (lists, rule
paths, scenarios) are JSON text, so the tables stay flat and readable by every engine and CSV feed. Each table is
registered as a feed dataset (`persona_<name>`), so client deliveries see the same contract.
"""

from __future__ import annotations

import json
import types
from datetime import date, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

from assets.personas.models import ITEM_MODELS, OUTPUT_MODELS, PersonaItem, PersonaName, PersonaOutput
from resources.feeds.datasets import FeedDataset
from resources.lake.delta import MergeStats, replace_where
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec

DATE_COLUMN = "as_of"
# Columns every persona table starts with, in this order.
LEADING = ("as_of", "persona", "section", "recommendation_id", "subject", "symbol", "action", "text")


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of a pydantic field annotation; nested values become JSON text."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        dtype, _ = _arrow_type(args[0]) if len(args) == 1 else (pa.string(), True)
        return dtype, True
    if origin is Literal or annotation is str or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return pa.string(), False
    if annotation is bool:
        return pa.bool_(), False
    if annotation is int:
        return pa.int64(), False
    if annotation is float:
        return pa.float64(), False
    if annotation is datetime:
        return UTC_TS, False
    if annotation is date:
        return pa.date32(), False
    return pa.string(), False  # list, dict, nested model: JSON


def _is_json(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_json(a) for a in get_args(annotation) if a is not type(None))
    return origin in (list, dict, tuple) or (isinstance(annotation, type) and issubclass(annotation, BaseModel))


@cache  # the item models are fixed: built once per persona, not once per output written
def persona_schema(persona: PersonaName) -> pa.Schema:
    """The union of the persona's item fields; fields not common to every section are nullable."""
    models = ITEM_MODELS[persona]
    fields: dict[str, pa.Field] = {}
    for model in models:
        for name, info in model.model_fields.items():
            dtype, nullable = _arrow_type(info.annotation)
            shared = all(name in m.model_fields for m in models)
            nullable = nullable or not shared or (name == "symbol")
            if name in fields:
                if fields[name].type != dtype:
                    raise TypeError(f"{persona}: column {name} has types {fields[name].type} and {dtype}")
                nullable = nullable or fields[name].nullable
            fields[name] = pa.field(name, dtype, nullable=nullable)
    ordered = [fields[n] for n in LEADING] + [f for n, f in fields.items() if n not in LEADING]
    return pa.schema(ordered)


@cache
def _json_columns(persona: PersonaName) -> frozenset[str]:
    return frozenset(n for m in ITEM_MODELS[persona] for n, info in m.model_fields.items() if _is_json(info.annotation))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def item_row(item: PersonaItem, json_columns: frozenset[str]) -> dict[str, Any]:
    row = item.model_dump(mode="python")
    columns = json_columns & row.keys()
    if columns:  # one JSON dump of the item's nested columns, not one per column
        dumped = item.model_dump(mode="json", include=columns)
        row.update({column: _json(dumped[column]) for column in columns})
    return row


def output_rows(output: PersonaOutput) -> pa.Table:
    """The output's items as rows of its gold table (sorted by section, subject and id: deterministic)."""
    schema = persona_schema(output.persona)
    json_columns = _json_columns(output.persona)
    rows = [item_row(item, json_columns) for item in output.items()]
    rows.sort(key=lambda r: (r["section"], r["subject"], r["recommendation_id"]))
    full = [{name: row.get(name) for name in schema.names} for row in rows]
    return pa.Table.from_pylist(full, schema=schema)


def table_spec(persona: PersonaName) -> TableSpec:
    return TableSpec(
        zone="gold",
        name=f"personas/{persona}",
        schema=persona_schema(persona),
        keys=(DATE_COLUMN, "recommendation_id"),
        date_column=DATE_COLUMN,
        description=f"Persona output '{persona}': one row per statement, with provenance (see audit/recommendations)",
        partition_by=(DATE_COLUMN,),
    )


PERSONA_TABLES: dict[PersonaName, TableSpec] = {p: table_spec(p) for p in ITEM_MODELS}


def write_output(storage: LakeStorage, output: PersonaOutput) -> MergeStats:
    """Replace the persona table's partition for the output's day with its rows (idempotent)."""
    spec = PERSONA_TABLES[output.persona]
    return replace_where(storage, spec, output_rows(output), column=DATE_COLUMN, start=output.as_of, end=output.as_of)


def output_json(output: PersonaOutput) -> bytes:
    """The document as a person or client reads it: canonical JSON (sorted keys), deterministic bytes."""
    return (json.dumps(output.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def json_schemas() -> dict[str, dict[str, Any]]:
    """The published JSON Schema of every persona document."""
    return {name: model.model_json_schema() for name, model in OUTPUT_MODELS.items()}


def write_json_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"persona_{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


# Deliverable datasets; the feeds stage adds them to the delivery catalog (assets/feeds/runner.py).
FEED_DATASETS: dict[PersonaName, FeedDataset] = {
    persona: FeedDataset(
        name=f"persona_{persona}",
        path=("personas", persona),
        date_column=DATE_COLUMN,
        symbol_column="symbol",
        # market-wide rows (asset-class summaries, sentences, allocations) can carry unentitled instruments'
        # data in aggregate or in text, so a client gets only rows about its own instruments
        description=f"Persona output '{persona}': rows about the client's entitled instruments.",
    )
    for persona in ITEM_MODELS
}
