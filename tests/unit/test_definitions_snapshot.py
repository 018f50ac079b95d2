"""The code location's graph, recorded: any change to assets, deps, checks, jobs, sensors or automation shows up in
review as a diff of `tests/unit/snapshots/definitions.json`, and every declared dependency names a real asset.

Update after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/test_definitions_snapshot.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dagster import AutomationCondition, Definitions

from pipelines.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
UPDATE_ENV = "UPDATE_SNAPSHOTS"


def _label(condition: AutomationCondition | None) -> str | None:
    return None if condition is None else condition.get_label() or type(condition).__name__


def definitions_snapshot(definitions: Definitions) -> dict[str, Any]:
    """What the graph declares, with nothing that depends on settings (dates, paths) or on object identity."""
    repo = definitions.get_repository_def()
    specs = sorted(definitions.resolve_all_asset_specs(), key=lambda spec: spec.key.to_user_string())
    checks: dict[str, list[str]] = {}
    for check_key in repo.asset_graph.asset_check_keys:
        checks.setdefault(check_key.asset_key.to_user_string(), []).append(check_key.name)
    return {
        "assets": {
            spec.key.to_user_string(): {
                "group": spec.group_name,
                "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
                "checks": sorted(checks.get(spec.key.to_user_string(), [])),
                "automation": _label(spec.automation_condition),
                "partitions": type(spec.partitions_def).__name__ if spec.partitions_def else None,
            }
            for spec in specs
        },
        "jobs": {
            job.name: sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
            for job in sorted(repo.get_all_jobs(), key=lambda job: job.name)
            if not job.name.startswith("__ASSET_JOB")
        },
        "schedules": {
            schedule.name: {"cron": schedule.cron_schedule, "timezone": schedule.execution_timezone}
            for schedule in sorted(definitions.schedules or [], key=lambda schedule: schedule.name)
        },
        "sensors": {
            sensor.name: {
                "type": sensor.sensor_type.value,
                "default_status": sensor.default_status.value,
                "jobs": sorted(job.name for job in sensor.jobs) if sensor.has_jobs else [],
            }
            for sensor in sorted(definitions.sensors or [], key=lambda sensor: sensor.name)
        },
        "resources": _resource_users(definitions),
    }


def _resource_users(definitions: Definitions) -> dict[str, list[str]]:
    """Each shared resource, with the steps (asset and check nodes) whose bodies take it (Dagster's default
    `io_manager`, which every step names, left out)."""
    repo = definitions.get_repository_def()
    users: dict[str, set[str]] = {key: set() for key in repo.get_top_level_resources() if key != "io_manager"}
    for assets_def in repo.asset_graph.assets_defs:
        for key in assets_def.required_resource_keys - {"io_manager"}:
            users.setdefault(key, set()).add(assets_def.node_def.name)
    return {key: sorted(names) for key, names in sorted(users.items())}


def test_the_graph_matches_its_committed_snapshot():
    current = definitions_snapshot(defs)
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current == recorded, (
        f"the definitions changed; review the difference, then update {SNAPSHOT.name} with "
        f"`{UPDATE_ENV}=1 .venv/bin/pytest tests/unit/test_definitions_snapshot.py`"
    )


def test_every_declared_dependency_names_an_asset_that_exists():
    specs = defs.resolve_all_asset_specs()
    keys = {spec.key for spec in specs}
    missing = sorted(
        f"{spec.key.to_user_string()} -> {dep.asset_key.to_user_string()}"
        for spec in specs
        for dep in spec.deps
        if dep.asset_key not in keys
    )
    assert not missing, missing
