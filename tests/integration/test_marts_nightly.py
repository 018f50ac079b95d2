"""The nightly marts build (`nexus marts`, what the Dagster marts asset runs) rebuilds only what changed silver
tables feed, and ends with exactly the tables a full rebuild gives, including after a late restatement.

The sources are ingested in this process as `nexus ingest` would (tests/integration/in_process.py); the marts builds
stay `nexus marts` processes.
"""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from resources.lake.delta import merge_versioned, read_table
from resources.lake.storage import LakeStorage
from resources.sources.cboe.spec import INDEX_CLOSES
from tests.integration.in_process import ingest_as_the_cli

pytestmark = pytest.mark.slow
NEXUS = str(Path(sys.executable).with_name("nexus"))
START, END, NEXT_WEEK = "2021-01-04", "2022-12-30", "2023-01-06"
WATERMARK_COLUMNS = {"source_ingested_through"}  # when each row was computed: differs by design


def _env(root: Path, warehouse: str = "nexus.duckdb") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(
        NEXUS_LAKE_URI=str(root / "lake"),
        NEXUS_DUCKDB_PATH=str(root / "warehouse" / warehouse),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(root / "gold" / warehouse),
        NEXUS_START_DATE=START,
        NEXUS_END_DATE=END,
        DAGSTER_HOME=str(root / "dagster_home"),
    )
    return env


def _nexus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([NEXUS, *args], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"nexus {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def _ingest(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sources: tuple[str, ...], end: str) -> None:
    ingest_as_the_cli(
        env, monkeypatch, sources, start=date.fromisoformat(START), end=date.fromisoformat(end), run_id="nightly-test"
    )


def _marts(env: dict[str, str], *args: str) -> dict:
    return json.loads(_nexus(env, "marts", "--json", *args).stdout.strip().splitlines()[-1])


def _restate_an_old_vix_close(lake: Path) -> date:
    """A late restatement: VIX of 2022-06-01 revised, known since 2022-06-08, landed only now."""
    storage = LakeStorage(root_uri=str(lake))
    rows = read_table(
        storage, INDEX_CLOSES, filters=[("index_symbol", "=", "VIX"), ("observed_date", "=", date(2022, 6, 1))]
    )
    assert rows.num_rows == 1
    data = rows.drop_columns(["version", "is_revision"]).to_pylist()
    data[0]["close"] = round(data[0]["close"] * 1.25, 2)
    known = datetime(2022, 6, 8, 21, 0, tzinfo=UTC)
    data[0]["available_at"] = known
    data[0]["ingested_at"] = datetime.now(UTC)  # as every ingest stamps its rows
    table = pa.Table.from_pylist(data, schema=rows.drop_columns(["version", "is_revision"]).schema)
    stats = merge_versioned(storage, INDEX_CLOSES, table, revision_available_at=known)
    assert stats.revised == 1
    return date(2022, 6, 1)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in ('staging', 'intermediate', 'marts') order by all",
        [catalog],
    ).fetchall()


def test_nightly_build_rebuilds_only_what_changed_and_equals_a_full_rebuild(tmp_path, monkeypatch):
    env = _env(tmp_path)
    _ingest(env, monkeypatch, ("cboe", "fred", "coinmetrics", "eia", "cot"), END)

    first = _marts(env, "--no-publish")
    assert first["success"] and first["plan"] == "full", first
    again = _marts(env, "--no-publish")
    assert again["plan"] == "nothing" and again["nodes"] == 0, again
    before = tmp_path / "before.duckdb"
    shutil.copy(env["NEXUS_DUCKDB_PATH"], before)

    # a week of daily publishers; COT and EIA unchanged
    _ingest(env, monkeypatch, ("cboe", "fred", "coinmetrics"), NEXT_WEEK)
    restated = _restate_an_old_vix_close(tmp_path / "lake")
    update = _marts(env, "--no-publish")
    assert update["success"] and update["plan"] == "changed", update
    changed = set(update["changed_sources"])
    assert {"cboe.index_closes", "coinmetrics.asset_metrics"} <= changed
    # the lake is now as of NEXT_WEEK, so the marts capped at its as-of date rebuild; nothing else of COT's
    # or the reference tables changed
    assert "reference.lake_as_of" in changed, changed
    assert not any(s.startswith(("cot.", "reference.")) for s in changed - {"reference.lake_as_of"}), changed
    assert 0 < update["nodes"] < first["nodes"]

    full_env = _env(tmp_path, warehouse="rebuilt.duckdb")
    full = _marts(full_env, "--no-publish", "--full")
    assert full["success"] and full["plan"] == "full"

    with duckdb.connect() as con:
        con.execute(f"attach '{env['NEXUS_DUCKDB_PATH']}' as nightly (read_only)")
        con.execute(f"attach '{full_env['NEXUS_DUCKDB_PATH']}' as rebuilt (read_only)")
        tables = _tables(con, "nightly")
        assert tables == _tables(con, "rebuilt") and len(tables) == 33  # every model
        for schema, name in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_catalog = 'nightly' and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if c not in WATERMARK_COLUMNS
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            for a, b in (("nightly", "rebuilt"), ("rebuilt", "nightly")):
                diff = con.execute(
                    f"select count(*) from (select {cols} from {a}.{schema}.{name} "
                    f"except all select {cols} from {b}.{schema}.{name})"
                ).fetchone()[0]
                assert diff == 0, f"{schema}.{name}: {diff} rows in {a} not in {b}"
        # the late restatement made the incremental mart recompute old days: their 1-year VIX percentile moved
        con.execute(f"attach '{before}' as before (read_only)")
        moved = con.execute(
            "select count(*) from nightly.marts.fct_vol_term_structure_daily as n "
            "join before.marts.fct_vol_term_structure_daily as b using (trade_date) "
            "where n.trade_date > ? and n.vix_pct_1y is distinct from b.vix_pct_1y",
            [restated],
        ).fetchone()[0]
        assert moved > 0
