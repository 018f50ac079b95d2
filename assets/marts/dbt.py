"""dbt models as Dagster assets: one translator, groups by folder, dbt tests as asset checks."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from resources.dbt import apply_dbt_env, dbt_project

DBT_PROJECT = dbt_project()
DBT_RUN_TARGET = DBT_PROJECT.project_dir / "target" / "dagster"


class NexusDbtTranslator(DagsterDbtTranslator):
    """Asset keys mirror dbt schemas (staging/..., marts/...); groups follow the model's folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
        return AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test"]
TRANSLATOR = NexusDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR)
def nexus_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):  # noqa: ANN201
    """`dbt build` of the selected models: runs them and their data tests; a failing test blocks what depends on it.

    dbt unit tests (fixed inputs, the logic of z-scores, percentiles, seasonal averages) are left to CI, as dbt
    recommends: their inputs never change, so running them each night costs about 5 s and proves nothing new.
    Row counts are attached by the gold publishing step instead of `fetch_row_counts()`, which would keep a
    DuckDB connection to the build file open in this process and lock out the publisher.
    """
    apply_dbt_env()
    # a stable target path keeps dbt's partial-parse state between runs (a full parse costs about 8 s)
    yield from dbt.cli(PRODUCTION_BUILD, context=context, target_path=DBT_RUN_TARGET).stream()
