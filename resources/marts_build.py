"""Build the marts outside Dagster: ingest a lake, write the reference tables, run dbt. For tests and benchmarks.

Dagster does the same through its assets; this module exists so that tests and `make bench` can build a lake and
its marts in a few lines, with the same settings-driven environment (resources.dbt.apply_dbt_env).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa

from resources.dbt import DBT_PROJECT_DIR, apply_dbt_env, dbt_executable
from resources.lake.as_of import lake_as_of
from resources.lake.delta import replace_if_changed
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.reference import (
    COT_MARKETS,
    INSTRUMENTS,
    LAKE_AS_OF,
    TRADING_DAYS,
    calendar_end,
    cot_markets_table,
    instruments_table,
    lake_as_of_table,
    trading_days_table,
)
from resources.settings import Settings
from resources.sources.registry import available_sources, ingest_source
from resources.universe import get_universe


def write_reference_tables(storage: LakeStorage, settings: Settings) -> list[tuple[TableSpec, pa.Table, bool]]:
    """The reference tables from the universe file, the trading calendars and the lake's as-of date, each with
    whether it was written: an unchanged table keeps its Delta version, so the nightly dbt build knows it need not
    rebuild from it (and rebuilds the capped marts when the as-of date moves)."""
    universe = get_universe(settings.universe_file)
    tables = [
        (INSTRUMENTS, instruments_table(universe)),
        (COT_MARKETS, cot_markets_table(universe)),
        (TRADING_DAYS, trading_days_table(settings.partitions_start, calendar_end(settings.end_date, date.today()))),
        (LAKE_AS_OF, lake_as_of_table(lake_as_of(storage))),
    ]
    return [(spec, table, replace_if_changed(storage, spec, table)) for spec, table in tables]


def ingest_all(
    storage: LakeStorage, settings: Settings, *, start: date | None, end: date | None, run_id: str = "build"
) -> None:
    """Every available source as of `end` (simulated or live per settings), plus the reference tables."""
    for name in available_sources():
        ingest_source(name, storage, settings, run_id=run_id, start=start, end=end, files=None)
    write_reference_tables(storage, settings)


def run_dbt(
    args: Sequence[str],
    settings: Settings,
    *,
    target_path: Path | None = None,
    check: bool = True,
    as_of_date: date | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run dbt in dbt_project/ with the settings' environment; output captured (raise on failure if `check`).

    `as_of_date`: overrides the lake's own as-of date (silver/reference/lake_as_of) for this build: no mart row
    is dated after it (dbt var `as_of_date`, see dbt_project/macros/as_of_cap.sql). None: the lake's."""
    env = {**os.environ, **apply_dbt_env(settings)}
    cmd = [dbt_executable(), *args, "--profiles-dir", str(DBT_PROJECT_DIR)]
    if as_of_date is not None:
        cmd += ["--vars", json.dumps({"as_of_date": as_of_date.isoformat()})]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    result = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    return result


def publish_gold(storage: LakeStorage, settings: Settings, *, duckdb_file: bool = False) -> list[str]:
    """Publish the built marts as gold Delta tables, and the analysts' DuckDB file if asked (what the Dagster
    gold assets do)."""
    from resources.lake.gold import mart_tables, publish_duckdb_file, publish_to_delta

    tables = mart_tables(settings.duckdb_path)
    published = [t.name for t in publish_to_delta(storage, settings.duckdb_path, tables)]
    if duckdb_file:
        publish_duckdb_file(settings.duckdb_path, settings.published_duckdb_path, tables)
    return published


def build_from_files(storage: LakeStorage, settings: Settings, folder: Path, *, target_path: Path) -> None:
    """A lake from publisher files (`folder/<source>/`), its marts built with dbt and published to gold."""
    for name in available_sources():
        if (folder / name).exists():
            ingest_source(name, storage, settings, run_id="files", start=None, end=None, files=[folder / name])
    write_reference_tables(storage, settings)
    run_dbt(["run"], settings, target_path=target_path)
    publish_gold(storage, settings)
