"""dbt source freshness, run at the publishers' now: what each dbt source (a silver table) holds, per dbt.

The sources declare `loaded_at_field: available_at` (the publisher's release instant every silver row carries) and
`freshness` thresholds; `dbt source freshness` reports each source's newest `available_at`. The macro
`collect_freshness.sql` lets the run judge at a given instant (the simulated publisher's clock), so a test can move
time past a release. dbt runs against a DuckDB file of its own, never the warehouse a build may hold open.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict

from resources.dbt import DBT_PROJECT_DIR, dbt_executable
from resources.settings import Settings


class SourceFreshness(BaseModel):
    """One row of dbt's `sources.json` (the fields Nexus reads)."""

    model_config = ConfigDict(extra="ignore")

    unique_id: str
    status: str
    max_loaded_at: AwareDatetime | None = None
    snapshotted_at: AwareDatetime | None = None

    @property
    def source(self) -> str:
        """`<source>.<table>`, e.g. `cboe.index_closes` (the unique id is `source.<project>.<source>.<table>`)."""
        return ".".join(self.unique_id.split(".")[-2:])


class SourcesJson(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[SourceFreshness]


class SourceFreshnessError(RuntimeError):
    """dbt source freshness produced no results (a project or profile error, not a stale source)."""


def freshness_workdir(settings: Settings) -> Path:
    """dbt's target folder and DuckDB file for freshness runs, beside the warehouse (kept for partial parsing)."""
    return settings.duckdb_path.parent / "dbt_source_freshness"


def dbt_source_freshness(settings: Settings, now: datetime, timeout_s: float = 600) -> dict[str, SourceFreshness]:
    """Run `dbt source freshness` judged at `now`; results by `<source>.<table>`."""
    workdir = freshness_workdir(settings)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "target"
    (target / "sources.json").unlink(missing_ok=True)
    env = {**os.environ, **settings.dbt_env(), "NEXUS_DUCKDB_PATH": str(workdir / "freshness.duckdb")}
    project = str(DBT_PROJECT_DIR)
    args = ["source", "freshness", "--project-dir", project, "--profiles-dir", project, "--target-path", str(target)]
    done = subprocess.run(
        [dbt_executable(), *args, "--vars", json.dumps({"nexus_freshness_now": now.isoformat()})],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if not (target / "sources.json").exists():
        raise SourceFreshnessError(
            f"dbt source freshness wrote no results (exit {done.returncode}):\n{done.stdout[-3000:]}"
        )
    parsed = SourcesJson.model_validate_json((target / "sources.json").read_text(encoding="utf-8"))
    return {r.source: r for r in parsed.results}
