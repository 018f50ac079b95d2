"""Reference inputs of the marts: instruments and CFTC markets from the universe file, trading calendars, and the
day the lake is as of (which caps every mart's last day)."""

from datetime import date
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from assets.automation import after_inputs
from assets.skips import Window, skip_probe
from resources.lake.as_of import lake_as_of
from resources.lake.delta import table_uri
from resources.lake.resource import LakeResource
from resources.lake.stage_state import SKIPPED, StageFingerprint, StageRecord, code_hash, config_hash, record_run
from resources.lake.stage_state import unchanged as stage_unchanged
from resources.lake.storage import LakeStorage
from resources.marts_build import write_reference_tables
from resources.reference import COT_MARKETS, INSTRUMENTS, LAKE_AS_OF, TRADING_DAYS, calendar_end
from resources.settings import Settings
from resources.settings_resource import SettingsResource

SPECS = {spec.name: spec for spec in (INSTRUMENTS, COT_MARKETS, TRADING_DAYS, LAKE_AS_OF)}


def reference_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]]:
    """What the four tables are made of: the universe file, the calendar's span and the lake's as-of day."""
    universe = Path(settings.universe_file)
    config = {
        "universe": universe.read_text(encoding="utf-8") if universe.is_file() else None,
        "calendar": [settings.partitions_start, calendar_end(settings.end_date, date.today())],
        "as_of": lake_as_of(storage),
    }
    fingerprint = StageFingerprint(
        stage="marts/reference",
        inputs={},
        code=code_hash("resources.reference", "resources.universe", "resources.lake.as_of", "assets.marts.reference"),
        config=config_hash(config),
    )
    return fingerprint, [table_uri(storage, spec) for spec in SPECS.values()]


@skip_probe("reference_tables")
def reference_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    return stage_unchanged(storage, *reference_state(storage, settings))


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
def reference_tables(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource):  # noqa: ANN201
    """Rewrite the reference tables from the universe file and the calendars, when their content changed (an
    unchanged table keeps its Delta version, so the nightly dbt build knows it need not rebuild from it)."""
    storage, config = lake.storage(), settings.get()
    fingerprint, outputs = reference_state(storage, config)
    if stage_unchanged(storage, fingerprint, outputs) is not None:
        for spec in SPECS.values():
            yield MaterializeResult(
                asset_key=AssetKey(["silver", *spec.name.split("/")]),
                metadata={"skipped": SKIPPED, "table_uri": MetadataValue.path(table_uri(storage, spec))},
            )
        return
    written_tables = write_reference_tables(storage, config)
    record_run(storage, fingerprint, outputs)
    for spec, table, written in written_tables:
        meta = {
            "dagster/row_count": table.num_rows,
            "rows_written": table.num_rows if written else 0,  # an unchanged table keeps its version
            "table_uri": MetadataValue.path(table_uri(storage, spec)),
            "changed": written,
            "skipped": "no: inputs changed",
        }
        if spec is LAKE_AS_OF:
            meta["as_of_date"] = str(table["as_of_date"][0].as_py())
        if spec is INSTRUMENTS:
            meta["universe_file"] = MetadataValue.path(str(config.universe_file))
            meta["preview"] = MetadataValue.md(table.to_pandas().to_markdown(index=False))
        yield MaterializeResult(asset_key=AssetKey(["silver", *spec.name.split("/")]), metadata=meta)
