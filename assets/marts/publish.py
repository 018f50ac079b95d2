"""Publish the marts after each dbt build: gold Delta tables and the analysts' read-only DuckDB file."""

import json
import os
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dbt import DbtProject

from assets.automation import after_inputs
from assets.marts.dbt import TRANSLATOR
from assets.skips import Window, skip_probe
from resources.lake.gold import mart_tables, publish_duckdb_file, publish_to_delta
from resources.lake.resource import LakeResource
from resources.lake.stage_state import (
    SKIPPED,
    StageFingerprint,
    StageRecord,
    code_hash,
    config_hash,
    record_run,
    unchanged,
)
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.settings_resource import SettingsResource

ANALYST_DUCKDB = AssetKey(["gold", "analyst_duckdb"])


def mart_models(manifest_path: Path) -> list[dict]:
    """The dbt models in the marts schema, from a parsed manifest."""
    manifest = json.loads(manifest_path.read_text())
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    ]


def gold_specs(models: list[dict]) -> list[AssetSpec]:
    """One gold Delta table per mart, and the analysts' DuckDB file after all of them."""
    gold = [
        AssetSpec(
            AssetKey(["gold", "marts", node["name"]]),
            deps=[TRANSLATOR.get_asset_key(node)],
            group_name="marts",
            automation_condition=after_inputs(),
            description=f"Gold Delta copy of marts.{node['name']}: {node.get('description', '')}".strip(),
            kinds={"delta"},
            skippable=True,
        )
        for node in models
    ]
    analyst_file = AssetSpec(
        ANALYST_DUCKDB,
        deps=[spec.key for spec in gold],
        group_name="marts",
        automation_condition=after_inputs(),
        description="Read-only DuckDB file with every mart, swapped in atomically for SQL analysts (`nexus sql`).",
        kinds={"duckdb"},
        skippable=True,
    )
    return [*gold, analyst_file]


def _file_state(path: Path) -> list[int] | None:
    """Size and modification time: DuckDB changes both on any write, never on a read-only open."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def publish_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]] | None:
    """The gold copies are those of the warehouse file as it stands, and the analysts' file is the one published
    from it; None while there is no warehouse to publish from."""
    if not settings.duckdb_path.exists():
        return None
    files = {str(path): _file_state(path) for path in (settings.duckdb_path, Path(settings.published_duckdb_path))}
    fingerprint = StageFingerprint(
        stage="marts/publish",
        inputs={},
        code=code_hash("resources.lake.gold", "assets.marts.publish"),
        config=config_hash(files),
    )
    return fingerprint, [storage.uri("gold", schema, name) for schema, name in mart_tables(settings.duckdb_path)]


@skip_probe("publish_marts")
def publish_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    state = publish_state(storage, settings)
    return None if state is None else unchanged(storage, *state)


def publish_marts_asset(project: DbtProject) -> AssetsDefinition:
    """The publishing multi-asset for the marts of `project`'s parsed manifest (built when the code location
    loads, not at import)."""

    @multi_asset(specs=gold_specs(mart_models(project.manifest_path)), can_subset=True)
    def publish_marts(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource):
        """Copy every mart to gold Delta and rebuild the analysts' DuckDB file."""
        config = settings.get()
        storage = lake.storage()
        tables = mart_tables(config.duckdb_path)
        wanted = {key.path[-1] for key in context.selected_asset_keys if key.path[:2] == ["gold", "marts"]}
        published = publish_to_delta(storage, config.duckdb_path, [t for t in tables if t[1] in wanted])
        for table in published:
            yield MaterializeResult(
                asset_key=AssetKey(["gold", table.schema, table.name]),
                metadata={
                    "dagster/row_count": table.rows,
                    "table_uri": MetadataValue.path(table.uri),
                    "skipped": "no: content changed" if table.written else SKIPPED,
                },
            )
        if ANALYST_DUCKDB in context.selected_asset_keys:
            # the analysts' file is a copy of the marts: rebuilt only when a gold mart changed (or it is missing)
            current = config.published_duckdb_path.exists() and not any(t.written for t in published)
            if not current:
                publish_duckdb_file(config.duckdb_path, config.published_duckdb_path, tables)
            yield MaterializeResult(
                asset_key=ANALYST_DUCKDB,
                metadata={
                    "path": MetadataValue.path(str(config.published_duckdb_path)),
                    "tables": len(tables),
                    "skipped": SKIPPED if current else "no: marts changed",
                },
            )
        if set(context.selected_asset_keys) == set(publish_marts.keys):  # all of it: what a skip relies on
            state = publish_state(storage, config)
            if state is not None:
                record_run(storage, *state)

    return publish_marts
