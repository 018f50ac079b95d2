"""Weekly lake maintenance as an asset: compaction and vacuum of every silver and gold table, counts in the UI."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from resources.fit_cache import prune_fit_cache
from resources.lake.maintenance import maintain_lake
from resources.lake.resource import LakeResource
from resources.settings_resource import SettingsResource

MAINTENANCE_KEY = AssetKey(["lake", "maintenance"])


@asset(
    key=MAINTENANCE_KEY,
    group_name="maintenance",
    kinds={"delta"},
    description=(
        "Compacts small files (delta-rs optimize.compact) and vacuums data files unused for longer than "
        "NEXUS_VACUUM_RETENTION_HOURS in every silver and gold table; bronze is never touched. Time travel keeps "
        "working within the retention; prunes model-fit cache entries unused for as long and not used by the latest "
        "run (resources/fit_cache.py). Runs weekly (maintenance schedule) or from `nexus maintain`."
    ),
)
def lake_maintenance(
    context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource
) -> MaterializeResult:
    retention = settings.get().vacuum_retention_hours
    storage = lake.storage()
    report = maintain_lake(storage, retention)
    pruning = prune_fit_cache(storage, retention)
    changed = [t for t in report.tables if t.files_before != t.files_after or t.vacuumed_files]
    context.log.info(
        f"{len(report.tables)} tables: {report.files_before} -> {report.files_after} data files, "
        f"{report.vacuumed_files} vacuumed; fit cache: {len(pruning.removed)} of {pruning.entries} entries pruned"
    )
    table = "\n".join(
        ["| table | files before | files after | vacuumed |", "|---|---:|---:|---:|"]
        + [f"| {t.table} | {t.files_before} | {t.files_after} | {t.vacuumed_files} |" for t in changed]
    )
    return MaterializeResult(
        metadata={
            "files_before": report.files_before,
            "files_after": report.files_after,
            "vacuumed_files": report.vacuumed_files,
            "tables": len(report.tables),
            "tables_changed": len(changed),
            "retention_hours": retention,
            "fit_cache_entries": pruning.entries,
            "fit_cache_pruned": len(pruning.removed),
            "fit_cache_pruned_bytes": pruning.removed_bytes,
            "per_table": MetadataValue.md(table),
        }
    )
