"""A simulated lake with every source and a full dbt build, made once per test session for mart tests.

`tests/integration/conftest.py` registers the fixture, so a test module just names it (and the lake is built once
per session for every module that does):

    def test_something(built_marts):
        rows = built_marts.query("select * from marts.fct_prices_daily where symbol = 'SPX'")

`built_marts.settings` points at the session's lake and DuckDB; `built_marts.dbt(...)` runs more dbt commands
against them (for example a build after changing the lake). `built_marts.hashes` is the content hash of the lake
and the marts as built, taken before any test could change them (tests/tools/lake_hashes.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from resources.lake.storage import LakeStorage
from resources.marts_build import ingest_all, run_dbt
from resources.settings import Settings, get_settings
from tests.tools.lake_hashes import LakeHashes, hash_lake

START, END = date(2019, 1, 1), date(2024, 6, 28)
# a mart row's "dated" columns: no row may hold a value after the day the lake is as of (decision_at: after that
# day's decision time)
DATE_COLUMNS = ("trade_date", "decision_date", "week_ending", "report_date", "observed_date")
INSTANT_COLUMNS = ("decision_at",)


def mart_last_dates(path: Path | str) -> dict[str, dict[str, object]]:
    """Every mart in the DuckDB file at `path`, with the last value of each of its dated columns."""
    out: dict[str, dict[str, object]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        marts = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
        for (name,) in marts:
            columns = [r[0] for r in con.execute(f'describe marts."{name}"').fetchall()]
            dated = [c for c in columns if c in DATE_COLUMNS + INSTANT_COLUMNS]
            if dated:
                values = con.execute(
                    "select " + ", ".join(f'max("{c}")' for c in dated) + f' from marts."{name}"'
                ).fetchone()
                out[name] = dict(zip(dated, values, strict=True))
    return out


@dataclass
class BuiltMarts:
    settings: Settings
    storage: LakeStorage
    target: Path
    hashes: LakeHashes | None = None

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.settings.duckdb_path), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql).df()

    def dbt(self, *args: str, check: bool = True):
        return run_dbt(list(args), self.settings, target_path=self.target, check=check)


@pytest.fixture(scope="session")
def built_marts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltMarts]:
    root = tmp_path_factory.mktemp("marts")
    saved = dict(os.environ)
    os.environ.update(
        NEXUS_LAKE_URI=str(root / "lake"),
        NEXUS_DUCKDB_PATH=str(root / "warehouse" / "nexus.duckdb"),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(root / "gold" / "nexus_marts.duckdb"),
        NEXUS_START_DATE=START.isoformat(),
        NEXUS_END_DATE=END.isoformat(),
    )
    os.environ.pop("NEXUS_SOURCE_MODE", None)
    try:
        settings = get_settings()
        storage = LakeStorage.from_settings(settings)
        ingest_all(storage, settings, start=START, end=END)
        built = BuiltMarts(settings, storage, root / "dbt_target")
        built.dbt("build")
        built.hashes = hash_lake(storage, [settings.duckdb_path])
        yield built
    finally:
        os.environ.clear()
        os.environ.update(saved)
