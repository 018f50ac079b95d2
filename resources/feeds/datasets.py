"""What a client can be entitled to: the published tables, each with its date and instrument columns.

A dataset is a gold Delta table (a mart, the signals, a persona output). Delivering day D sends the rows dated D,
restricted to the client's instruments when the dataset has an instrument column. Each dataset ships with a JSON
Schema: the pydantic model's where one is registered, otherwise one derived from the table's Arrow schema.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from resources.errors import DeliveryError
from resources.lake.delta import open_table, scan
from resources.lake.storage import LakeStorage, Zone


class FeedDataset(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    zone: Zone = "gold"
    path: tuple[str, ...]
    date_column: str
    symbol_column: str | None = "symbol"
    include_market_wide: bool = Field(
        default=False, description="also deliver rows whose symbol is null (market-wide statements)"
    )
    description: str = ""
    schema_model: Any = None  # a pydantic model class whose JSON Schema describes a row, when there is one

    def uri(self, storage: LakeStorage) -> str:
        return storage.uri(self.zone, *self.path)


def _mart(name: str, description: str, symbol_column: str | None = "symbol") -> FeedDataset:
    return FeedDataset(
        name=name, path=("marts", name), date_column="trade_date", symbol_column=symbol_column, description=description
    )


# The marts, registered here once; the feeds stage adds the signals and persona outputs explicitly
# (assets/feeds/runner.register_feed_datasets), not as a side effect of importing their modules.
DATASETS: dict[str, FeedDataset] = {
    d.name: d
    for d in (
        _mart("fct_prices_daily", "Daily prices, returns, volatility and drawdowns as known each day."),
        _mart("fct_features_daily", "The model input: one wide row per instrument and day, point in time."),
        _mart("fct_vol_term_structure_daily", "VIX term structure and percentiles.", symbol_column=None),
        _mart("fct_macro_daily", "Rates, curve and dollar as known each day (FRED vintages).", symbol_column=None),
        _mart("fct_energy_daily", "Crude and gas inventories and futures curves as known each day.", None),
        _mart("fct_cot_positioning_daily", "CFTC positioning as released, by market, each trading day."),
        _mart("fct_onchain_daily", "On-chain valuation and activity (BTC, ETH).", symbol_column="symbol"),
    )
}


def register(dataset: FeedDataset) -> FeedDataset:
    DATASETS[dataset.name] = dataset
    return dataset


def get_dataset(name: str) -> FeedDataset:
    if name not in DATASETS:
        raise DeliveryError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def rows_for_day(storage: LakeStorage, dataset: FeedDataset, day: date, symbols: list[str] | None) -> pa.Table:
    """The dataset's rows dated `day`, only the given symbols when it has a symbol column (sorted, stable)."""
    return rows_for_period(storage, dataset, day, day, symbols)


def rows_for_period(
    storage: LakeStorage,
    dataset: FeedDataset,
    first: date,
    last: date,
    symbols: list[str] | None,
    *,
    stored_at: datetime | None = None,
) -> pa.Table:
    """The dataset's rows dated `first`..`last`, only the given symbols when it has a symbol column (sorted).

    `stored_at`: from the Delta version current at that instant (reproducing a past delivery), not the latest."""
    uri = dataset.uri(storage)
    delta = open_table(storage, uri)
    if delta is None:
        return pa.table({})
    if stored_at is not None:
        if stored_at.timestamp() * 1000 < min(entry["timestamp"] for entry in delta.history()):
            return pa.table({})  # not published yet at that instant
        delta.load_as_version(stored_at)
    window = [(dataset.date_column, ">=", first), (dataset.date_column, "<=", last)]
    table = scan(storage, delta, uri, filters=window)
    if dataset.symbol_column and dataset.symbol_column in table.column_names:
        allowed = pa.array(symbols or [], pa.string())
        keep = pc.is_in(table[dataset.symbol_column], value_set=allowed)
        if dataset.include_market_wide:
            keep = pc.or_(keep, pc.is_null(table[dataset.symbol_column]))
        table = table.filter(keep)
    sort_keys = [c for c in (dataset.symbol_column, dataset.date_column) if c and c in table.column_names]
    sort_keys += [c for c in table.column_names if c not in sort_keys]
    if table.num_rows:
        table = table.sort_by([(c, "ascending") for c in sort_keys if not pa.types.is_nested(table[c].type)])
    return table


def _json_type(dtype: pa.DataType) -> dict[str, Any]:
    if pa.types.is_boolean(dtype):
        return {"type": "boolean"}
    if pa.types.is_integer(dtype):
        return {"type": "integer"}
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return {"type": "number"}
    if pa.types.is_date(dtype):
        return {"type": "string", "format": "date"}
    if pa.types.is_timestamp(dtype):
        return {"type": "string", "format": "date-time"}
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return {"type": "array", "items": _json_type(dtype.value_type)}
    if pa.types.is_struct(dtype):
        return {"type": "object"}
    return {"type": "string"}


def json_schema(dataset: FeedDataset, schema: pa.Schema) -> dict[str, Any]:
    """JSON Schema of one row of the dataset."""
    if dataset.schema_model is not None:
        doc = dataset.schema_model.model_json_schema()
    else:
        props = {}
        for field in schema:
            spec = _json_type(field.type)
            if field.nullable:
                spec = {"anyOf": [spec, {"type": "null"}]}
            props[field.name] = spec
        doc = {
            "type": "object",
            "properties": props,
            "required": [f.name for f in schema if not f.nullable],
            "additionalProperties": False,
        }
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": dataset.name, **doc}
    if dataset.description:
        doc.setdefault("description", dataset.description)
    return doc


def schema_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
