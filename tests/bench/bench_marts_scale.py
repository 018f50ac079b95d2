"""Marts at scale (issue 15): the dbt build (models, data tests) at 1x, 4x and 16x the default number of
instruments and at 10 and 30 years of history, with the growth exponents (log-log slope; 1 is linear).

A lake of k x the instruments is the simulated default lake with every instrument's own silver rows (its price
series and its CFTC market in every COT report) copied k - 1 times under new names, and the reference tables
rebuilt from the universe with the same copies (tests/bench/bench_scale.scaled_universe), so dbt sees a universe
k times as wide with the same shape (the accepted-values test of Cboe's index symbols is left out
at every scale: copies are not Cboe symbols). The time is dbt's own `elapsed_time` (run_results.json): the execution of
the models and tests, without the CLI's start-up and parse, which do not grow with the data. "30 years" starts
before the simulated world's first day (2000-01-03), so it holds 26.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake

from tests.bench.bench_scale import SCALES, YEARS, _exponents, held_years, scaled_universe
from tests.bench.common import Figure, scratch

END = date(2025, 12, 31)
# silver table -> the column naming an instrument's price series, per price source
PRICE_TABLES = {
    "fred": (("fred/observations", "series_id"), ("fred/series", "series_id")),
    "eia": (("eia/daily_prices", "series_id"),),
    "cboe": (("cboe/index_closes", "index_symbol"),),
    "coinmetrics": (("coinmetrics/asset_metrics", "asset"),),
}
COT_TABLES = ("cot/legacy_positions", "cot/tff_positions", "cot/disaggregated_positions")
# the one data test a renamed copy fails by design (Cboe's index symbols are a closed list); left out at every
# scale, so each scale runs the same tests
COPIES_REFUSED_BY = "test_name:accepted_values,stg_cboe__index_closes"


def _base_lake(root: Path, years: int):
    from resources.lake.storage import LakeStorage
    from resources.marts_build import ingest_all
    from resources.settings import Settings

    start = END - timedelta(days=round(365.25 * years))
    settings = Settings(
        lake_uri=str(root / "lake"),
        duckdb_path=root / "warehouse" / "nexus.duckdb",
        source_mode="simulated",
        start_date=max(start, date(2000, 1, 3)),
        end_date=END,
    )
    ingest_all(LakeStorage.from_settings(settings), settings, start=settings.start_date, end=END)
    return settings


def _scale_lake(settings, scale: int) -> None:
    from resources.lake.delta import replace_if_changed
    from resources.lake.storage import LakeStorage
    from resources.reference import COT_MARKETS, INSTRUMENTS, cot_markets_table, instruments_table
    from resources.universe import load_universe

    base = load_universe(settings.universe_file)
    wide = scaled_universe(base, scale)
    originals = {i.symbol: i for i in base.instruments}
    copies = [(i, originals[i.symbol.rsplit("X", 1)[0]]) for i in wide.instruments if i.symbol not in originals]
    lake = Path(settings.lake_uri)
    for source, tables in PRICE_TABLES.items():
        renames = {new.price.series: old.price.series for new, old in copies if new.price.source == source}
        for table, column in tables:
            _copy_renamed(lake, table, column, renames)
    cot_renames = {new.cot.market_code: old.cot.market_code for new, old in copies if new.cot and old.cot}
    for table in COT_TABLES:
        _copy_renamed(lake, table, "cftc_contract_market_code", cot_renames)
    storage = LakeStorage.from_settings(settings)
    replace_if_changed(storage, INSTRUMENTS, instruments_table(wide))
    replace_if_changed(storage, COT_MARKETS, cot_markets_table(wide))


def _copy_renamed(lake: Path, table: str, column: str, new_to_old: dict[str, str]) -> None:
    from deltalake import DeltaTable

    path = str(lake / "silver" / table)
    data = DeltaTable(path).to_pyarrow_table()
    parts = []
    for new, old in new_to_old.items():
        rows = data.filter(pc.equal(data[column], old))
        if rows.num_rows:
            index = rows.schema.get_field_index(column)
            parts.append(rows.set_column(index, rows.schema.field(index), pa.array([new] * rows.num_rows)))
    if parts:
        write_deltalake(path, pa.concat_tables(parts).cast(data.schema), mode="append")


def _dbt_seconds(settings, root: Path) -> float:
    from resources.marts_build import run_dbt

    target = root / "dbt_target"
    args = ["build", "--exclude-resource-type", "unit_test", "--exclude", COPIES_REFUSED_BY]
    run_dbt(args, settings, target_path=target, as_of_date=END)
    return float(json.loads((target / "run_results.json").read_text())["elapsed_time"])


def scaled_copy(base_root: Path, settings, scale: int):
    """A scratch copy of the base lake with `scale` times its instruments: (its root, settings pointing at it)."""
    root = scratch()
    shutil.copytree(base_root / "lake", root / "lake")
    scaled = settings.model_copy(update={"lake_uri": str(root / "lake"), "duckdb_path": root / "wh" / "nexus.duckdb"})
    if scale > 1:
        _scale_lake(scaled, scale)
    return root, scaled


def marts_seconds(base_root: Path, settings, scale: int) -> float:
    root, scaled = scaled_copy(base_root, settings, scale)
    seconds = _dbt_seconds(scaled, root)
    shutil.rmtree(root, ignore_errors=True)
    return seconds


def run() -> list[Figure]:
    figures: list[Figure] = [Figure("load average (1 min) at start, 2 cores shared", os.getloadavg()[0], "")]
    by_scale: dict[int, float] = {}
    by_years: dict[int, float] = {}
    for years in YEARS:
        base_root = scratch()
        print(f"  simulated lake, {years} years ...", flush=True)
        settings = _base_lake(base_root, years)
        for scale in SCALES if years == YEARS[0] else (1,):
            seconds = marts_seconds(base_root, settings, scale)
            print(f"  marts (dbt build) {scale}x, {years} years: {seconds:.2f} s", flush=True)
            if years == YEARS[0]:
                by_scale[scale] = seconds
            if scale == 1:
                by_years[round(held_years(years))] = seconds  # fitted to the years the data holds
        shutil.rmtree(base_root, ignore_errors=True)
    for unit, points in (("x", by_scale), ("y", by_years)):
        details = {size: f"{seconds:.1f} s" for size, seconds in points.items()}
        figures.append(_exponents("marts (dbt build, dbt's elapsed)", unit, points, details))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
