"""Reference inputs of the marts: instruments and CFTC markets from the universe file, trading calendars."""

from datetime import date

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from resources.lake.delta import replace_if_changed, table_uri
from resources.lake.resource import LakeResource
from resources.reference import (
    COT_MARKETS,
    INSTRUMENTS,
    TRADING_DAYS,
    cot_markets_table,
    instruments_table,
    trading_days_table,
)
from resources.settings import get_settings
from resources.universe import get_universe

SPECS = {spec.name: spec for spec in (INSTRUMENTS, COT_MARKETS, TRADING_DAYS)}
CALENDAR_END = date(2030, 12, 31)


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["silver", *spec.name.split("/")]),
            group_name="reference",
            description=spec.description,
            kinds={"delta"},
        )
        for spec in SPECS.values()
    ],
    can_subset=False,
)
def reference_tables(context: AssetExecutionContext, lake: LakeResource):  # noqa: ANN201
    """Rewrite the reference tables from the universe file and the calendars, when their content changed (an
    unchanged table keeps its Delta version, so the nightly dbt build knows it need not rebuild from it)."""
    storage = lake.storage()
    settings = get_settings()
    universe = get_universe()
    tables = {
        INSTRUMENTS.name: instruments_table(universe),
        COT_MARKETS.name: cot_markets_table(universe),
        TRADING_DAYS.name: trading_days_table(settings.partitions_start, CALENDAR_END),
    }
    for name, table in tables.items():
        spec = SPECS[name]
        written = replace_if_changed(storage, spec, table)
        meta = {
            "dagster/row_count": table.num_rows,
            "table_uri": MetadataValue.path(table_uri(storage, spec)),
            "changed": written,
        }
        if name == INSTRUMENTS.name:
            meta["universe_file"] = MetadataValue.path(str(settings.universe_file))
            meta["preview"] = MetadataValue.md(table.to_pandas().to_markdown(index=False))
        yield MaterializeResult(asset_key=AssetKey(["silver", *name.split("/")]), metadata=meta)
