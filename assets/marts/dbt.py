"""dbt models as Dagster assets: one translator, groups by folder, dbt tests as asset checks."""

from collections.abc import Iterator, Mapping
from graphlib import TopologicalSorter
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    Failure,
    MetadataValue,
    Output,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from assets.automation import after_inputs
from assets.skips import Window, skip_probe
from resources.dbt import apply_dbt_env
from resources.dbt_inprocess import build_in_process, dagster_events, manifest_and_translator
from resources.lake.stage_state import StageRecord
from resources.lake.storage import LakeStorage
from resources.marts_nightly import NIGHTLY_TARGET, PRODUCTION_BUILD, nightly_build, nightly_plan
from resources.settings import Settings
from resources.settings_resource import SettingsResource

DBT_RUN_TARGET = NIGHTLY_TARGET


class NexusDbtTranslator(DagsterDbtTranslator):
    """Asset keys mirror dbt schemas (staging/..., marts/...); every model is in the marts stage group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
        return AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return "marts"  # staging, intermediate and marts are one stage; the asset key keeps the dbt layer

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        """dbt models build once the silver tables they read are new and passed their suites (see automation)."""
        return None if dbt_resource_props["resource_type"] == "source" else after_inputs()


TRANSLATOR = NexusDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@skip_probe("nexus_dbt_models")
def dbt_unchanged(_: LakeStorage, settings: Settings, __: Window | None = None) -> StageRecord | None:
    """The nightly build's own plan says there is nothing to rebuild (build_changed would run no dbt)."""
    apply_dbt_env(settings)
    plan, _versions, fingerprint = nightly_plan(settings, DBT_RUN_TARGET)
    return StageRecord(fingerprint=fingerprint, outputs={}, summary={"reason": plan.reason}) if plan.is_noop else None


def _whole_project_selected(context: AssetExecutionContext, models: AssetsDefinition) -> bool:
    # against the decorated definition: `context.assets_def` is already cut down to the selection
    return set(context.selected_asset_keys) == set(models.keys) and set(context.selected_asset_check_keys) == set(
        models.check_keys
    )


def build_changed(context: AssetExecutionContext, settings: Settings) -> Iterator[Any]:
    """The nightly build (resources/marts_nightly.py): only what is downstream of a changed silver table.

    Models left alone still get an output, marked `rebuilt: false` with the reason, so the run shows every mart
    as current and the gold publishing downstream runs; their dbt tests keep their last results.
    """
    build = nightly_build(settings, DBT_RUN_TARGET)
    context.log.info(f"marts: {build.plan.reason}")
    manifest, translator = manifest_and_translator(context.assets_def)
    events = []
    if build.invocation is not None:
        context.log.info(f"dbt: {len(build.invocation.result_events)} nodes in {build.seconds:.1f} s")
        events = list(dagster_events(context, build.invocation, manifest, translator, DBT_RUN_TARGET))
    if build.invocation is not None and not build.invocation.success:
        # what did build (and its check results) is reported; models dbt skipped after the failure are stale,
        # so they get no output and everything downstream of them stays blocked
        yield from events
        raise Failure(description=build.invocation.summary())
    built = {event.output_name for event in events if isinstance(event, Output)}
    # Models not rebuilt first: what was rebuilt is everything downstream of a changed source, so no model left
    # alone depends on a rebuilt one, and Dagster wants a multi-asset's outputs in dependency order.
    left_alone = set()
    for key in _in_dependency_order(context):
        name = context.assets_def.get_output_name_for_asset_key(key)
        if name not in built:
            left_alone.add(key)
            yield Output(
                None, output_name=name, metadata={"rebuilt": False, "reason": MetadataValue.text(build.plan.reason)}
            )
    yield from _carried_check_results(context, left_alone)
    yield from events


def _carried_check_results(context: AssetExecutionContext, left_alone: set[AssetKey]) -> Iterator[AssetCheckResult]:
    """The dbt tests of models not rebuilt: their inputs are unchanged since the last successful build, so their
    last evaluation still holds and is reported again (a blocking check with no result only logs a warning).

    With no earlier evaluation in this instance (a new Dagster home on an existing lake), the last successful
    build, which a failing error-severity test would have stopped, is the evidence that the test passed.
    """
    storage = context.instance.event_log_storage
    for check in context.selected_asset_check_keys:
        if check.asset_key not in left_alone:
            continue
        last = _last_evaluation(storage, check, context.run.run_id)
        passed = last is None or last.status != AssetCheckExecutionRecordStatus.FAILED
        evaluation = last.evaluation if last is not None else None
        yield AssetCheckResult(
            asset_key=check.asset_key,
            check_name=check.name,
            passed=passed,
            severity=evaluation.severity if evaluation is not None else AssetCheckSeverity.ERROR,
            metadata={
                "rebuilt": False,
                "carried_from_run": last.run_id if last is not None else "the last successful dbt build",
            },
        )


def _last_evaluation(storage: Any, check: AssetCheckKey, this_run: str) -> Any:
    for record in storage.get_asset_check_execution_history(check, limit=5):
        if record.run_id != this_run and record.status != AssetCheckExecutionRecordStatus.PLANNED:
            return record
    return None


def _in_dependency_order(context: AssetExecutionContext) -> list[AssetKey]:
    selected = set(context.selected_asset_keys)
    deps = context.assets_def.asset_deps
    graph = {key: {d for d in deps.get(key, ()) if d in selected} for key in selected}
    return list(TopologicalSorter(graph).static_order())


def dbt_models(project: DbtProject) -> AssetsDefinition:
    """The dbt project's models as one multi-asset, read from its parsed manifest (`resources.dbt.dbt_project`).

    A function, not a module-level decorator, so importing this module parses nothing: the code location builds
    it when Dagster loads the definitions (pipelines/definitions.py).
    """

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=TRANSLATOR)
    def nexus_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
        """`dbt build` of the selected models: runs them and their data tests; a failing test blocks what depends
        on it.

        With the whole project selected (the nightly job, `nexus run`) only the models downstream of a silver table
        that changed since the last build run; a subset picked in the UI is built as asked. dbt unit tests (fixed
        inputs) are left to CI, as dbt recommends. Row counts are attached by the gold publishing step instead of
        `fetch_row_counts()`, which would keep a DuckDB connection to the build file open in this process and lock
        out the publisher.
        """
        apply_dbt_env(settings.get())
        if _whole_project_selected(context, nexus_dbt_models):
            yield from build_changed(context, settings.get())
        else:
            yield from build_in_process(context, dbt, PRODUCTION_BUILD, TRANSLATOR, DBT_RUN_TARGET)

    return nexus_dbt_models
