"""Reference inputs of the marts: instruments and CFTC markets from the universe file, trading calendars, and the
day the lake is as of (which caps every mart's last day)."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.automation import after_inputs
from resources.lake.delta import table_uri
from resources.lake.resource import LakeResource
from resources.marts_build import write_reference_tables
from resources.reference import COT_MARKETS, INSTRUMENTS, LAKE_AS_OF, TRADING_DAYS
from resources.settings import get_settings

SPECS = {spec.name: spec for spec in (INSTRUMENTS, COT_MARKETS, TRADING_DAYS, LAKE_AS_OF)}


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["silver", *spec.name.split("/")]),
            group_name="marts",
            automation_condition=after_inputs(),
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
    for spec, table, written in write_reference_tables(storage, settings):
        meta = {
            "dagster/row_count": table.num_rows,
            "table_uri": MetadataValue.path(table_uri(storage, spec)),
            "changed": written,
        }
        if spec is LAKE_AS_OF:
            meta["as_of_date"] = str(table["as_of_date"][0].as_py())
        if spec is INSTRUMENTS:
            meta["universe_file"] = MetadataValue.path(str(settings.universe_file))
            meta["preview"] = MetadataValue.md(table.to_pandas().to_markdown(index=False))
        yield MaterializeResult(asset_key=AssetKey(["silver", *spec.name.split("/")]), metadata=meta)
