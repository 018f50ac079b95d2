"""dbt wiring shared by Dagster and the CLI: the project, its manifest, and the environment dbt runs with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from resources.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:  # dagster_dbt takes ~1.5 s to import: `nexus run` starts dbt's parse before paying it
    from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
TARGET = "target"
_WATCHED = ("models", "macros", "tests", "seeds", "dbt_project.yml", "profiles.yml")


def dbt_executable() -> str:
    """The dbt of this virtualenv (never a dbt found elsewhere on PATH)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def apply_dbt_env(settings: Settings) -> dict[str, str]:
    """Export the variables profiles.yml and the sources read, from the same settings Dagster uses."""
    env = settings.dbt_env()
    if settings.lake_is_s3 and settings.aws_endpoint_url and settings.aws_endpoint_url.startswith("http://"):
        env["AWS_ALLOW_HTTP"] = "true"  # delta-rs inside dbt reads the AWS_* variables itself
    if settings.lake_is_s3 and settings.aws_endpoint_url:
        env.setdefault("AWS_ENDPOINT_URL", settings.aws_endpoint_url)
    if settings.lake_is_s3 and settings.aws_region:
        env.setdefault("AWS_REGION", settings.aws_region)
    os.environ.update(env)
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return env


def project_files() -> list[Path]:
    """Every file dbt parses: models, macros, tests, seeds and the project and profile files, sorted."""
    files: list[Path] = []
    for name in _WATCHED:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file())
    return sorted(files)


def newest_source_mtime() -> float:
    """When a model, macro, test or project file last changed (what makes a parsed manifest stale)."""
    return max((p.stat().st_mtime for p in project_files()), default=0.0)


def _parse_command() -> list[str]:
    return [
        dbt_executable(),
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]


def _is_fresh(manifest: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= newest_source_mtime()


class _Parse(NamedTuple):
    process: subprocess.Popen[bytes]
    output: IO[bytes]  # a file, not a pipe: a pipe nobody reads until the end could fill and stall dbt


_PARSING: dict[Path, _Parse] = {}


def start_manifest_parse(settings: Settings) -> bool:
    """Start `dbt parse` in the background when the manifest is missing or stale (a fresh clone, an edited model),
    so it runs on the other core while the caller loads the code location; `ensure_manifest` waits for it.
    Returns whether one started."""
    manifest = _manifest_path()
    if manifest in _PARSING or _is_fresh(manifest):
        return False
    apply_dbt_env(settings)
    output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by ensure_manifest, which waits for the parse)
    process = subprocess.Popen(_parse_command(), cwd=DBT_PROJECT_DIR, stdout=output, stderr=subprocess.STDOUT)
    _PARSING[manifest] = _Parse(process, output)
    return True


def ensure_manifest(project: DbtProject, settings: Settings) -> Path:
    """Parse the dbt project (with `settings`' dbt environment) when its manifest is missing or older than any
    model, macro or test file, and wait for it; a parse `start_manifest_parse` started already is the one waited for."""
    manifest = project.manifest_path
    start_manifest_parse(settings)
    started = _PARSING.pop(manifest, None)
    if started is not None:
        with started.output:
            if started.process.wait() != 0:
                started.output.seek(0)
                raise RuntimeError(f"dbt parse failed:\n{started.output.read().decode(errors='replace')}")
    return manifest


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project, its manifest parsed first when missing or stale (what the code location's build does once,
    with its settings, before the marts stage reads the manifest through `parsed_dbt_project`)."""
    project = _project()
    ensure_manifest(project, settings)
    return project


class ManifestMissingError(RuntimeError):
    """The dbt manifest has not been parsed: build the code location, or call dbt_project(settings), first."""


def parsed_dbt_project() -> DbtProject:
    """The dbt project as already parsed by `dbt_project(settings)` (the marts stage is not handed the settings a
    parse needs; the code location's build parses before it builds the stages)."""
    project = _project()
    if not project.manifest_path.exists():
        raise ManifestMissingError(
            f"no dbt manifest at {project.manifest_path}: pipelines.definitions.build_definitions(settings) or "
            "resources.dbt.dbt_project(settings) parses the project"
        )
    return project


def _manifest_path() -> Path:
    """Where `_project().manifest_path` is, without importing dagster_dbt."""
    return DBT_PROJECT_DIR / TARGET / "manifest.json"


def _project() -> DbtProject:
    from dagster_dbt import DbtProject

    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=TARGET)


def dbt_resource(project: DbtProject) -> DbtCliResource:
    from dagster_dbt import DbtCliResource

    return DbtCliResource(project_dir=project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())


if __name__ == "__main__":  # the image build's edge (Dockerfile): parse with the settings of its environment, once
    from resources.settings import get_settings

    print("dbt manifest", dbt_project(get_settings()).manifest_path)
