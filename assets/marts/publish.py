"""Publish the marts after each dbt build: gold Delta tables and the analysts' read-only DuckDB file."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.automation import after_inputs
from assets.marts.dbt import DBT_PROJECT, TRANSLATOR
from resources.lake.gold import mart_tables, publish_duckdb_file, publish_to_delta
from resources.lake.resource import LakeResource
from resources.lake.stage_state import SKIPPED
from resources.settings import get_settings


def _mart_models() -> list[dict]:
    import json

    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    ]


MART_MODELS = _mart_models()
GOLD_SPECS = [
    AssetSpec(
        AssetKey(["gold", "marts", node["name"]]),
        deps=[TRANSLATOR.get_asset_key(node)],
        group_name="marts",
        automation_condition=after_inputs(),
        description=f"Gold Delta copy of marts.{node['name']}: {node.get('description', '')}".strip(),
        kinds={"delta"},
        skippable=True,
    )
    for node in MART_MODELS
]
DUCKDB_SPEC = AssetSpec(
    AssetKey(["gold", "analyst_duckdb"]),
    deps=[spec.key for spec in GOLD_SPECS],
    group_name="marts",
    automation_condition=after_inputs(),
    description="Read-only DuckDB file with every mart, swapped in atomically for SQL analysts (`nexus sql`).",
    kinds={"duckdb"},
    skippable=True,
)


@multi_asset(specs=[*GOLD_SPECS, DUCKDB_SPEC], can_subset=True)
def publish_marts(context: AssetExecutionContext, lake: LakeResource):  # noqa: ANN201
    """Copy every mart to gold Delta and rebuild the analysts' DuckDB file."""
    settings = get_settings()
    storage = lake.storage()
    tables = mart_tables(settings.duckdb_path)
    wanted = {key.path[-1] for key in context.selected_asset_keys if key.path[:2] == ["gold", "marts"]}
    published = publish_to_delta(storage, settings.duckdb_path, [t for t in tables if t[1] in wanted])
    for table in published:
        yield MaterializeResult(
            asset_key=AssetKey(["gold", table.schema, table.name]),
            metadata={
                "dagster/row_count": table.rows,
                "table_uri": MetadataValue.path(table.uri),
                "skipped": "no: content changed" if table.written else SKIPPED,
            },
        )
    if DUCKDB_SPEC.key in context.selected_asset_keys:
        # the analysts' file is a copy of the marts: rebuilt only when a gold mart changed (or it is missing)
        current = settings.published_duckdb_path.exists() and not any(t.written for t in published)
        if not current:
            publish_duckdb_file(settings.duckdb_path, settings.published_duckdb_path, tables)
        yield MaterializeResult(
            asset_key=DUCKDB_SPEC.key,
            metadata={
                "path": MetadataValue.path(str(settings.published_duckdb_path)),
                "tables": len(tables),
                "skipped": SKIPPED if current else "no: marts changed",
            },
        )
