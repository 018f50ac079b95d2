"""`nexus run` starts `dbt parse` in the background on a stale manifest; the code location waits for that parse
instead of starting a second one, and a failed background parse fails as loudly as a foreground one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import resources.dbt as dbt
from resources.settings import Settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A project whose manifest is tmp_path/manifest.json and whose sources last changed at mtime 1000."""
    fake = SimpleNamespace(manifest_path=tmp_path / "manifest.json")
    monkeypatch.setattr(dbt, "_project", lambda: fake)
    monkeypatch.setattr(dbt, "_manifest_path", lambda: fake.manifest_path)
    monkeypatch.setattr(dbt, "newest_source_mtime", lambda: 1000.0)
    monkeypatch.setattr(dbt, "apply_dbt_env", lambda settings: {})
    monkeypatch.setattr(dbt, "_PARSING", {})
    return fake


def _parse_writes(manifest: Path, *, exit_code: int = 0) -> list[str]:
    script = (
        "import sys, time; time.sleep(0.3); "
        f"open({str(manifest)!r}, 'w').write('{{}}') if {exit_code} == 0 else print('Compilation Error in model x'); "
        f"sys.exit({exit_code})"
    )
    return [sys.executable, "-c", script]


def test_the_code_location_waits_for_the_background_parse_instead_of_parsing_again(
    project: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt, "_parse_command", lambda: _parse_writes(project.manifest_path))

    def no_second_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dbt parse ran twice")

    assert dbt.start_manifest_parse(Settings()) is True
    assert dbt.start_manifest_parse(Settings()) is False  # one in flight
    monkeypatch.setattr(dbt, "_parse_command", no_second_parse)
    assert dbt.ensure_manifest(project, Settings()) == project.manifest_path
    assert project.manifest_path.read_text() == "{}"
    assert dbt._PARSING == {}


def test_without_a_background_parse_the_code_location_parses_and_waits(
    project: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt, "_parse_command", lambda: _parse_writes(project.manifest_path))
    assert dbt.ensure_manifest(project, Settings()) == project.manifest_path
    assert project.manifest_path.read_text() == "{}"
    assert dbt._PARSING == {}


def test_the_parse_starts_without_importing_dagster_dbt_and_parses_the_projects_manifest():
    """dagster_dbt costs ~1.5 s to import: `nexus run` starts the parse first and pays it while dbt parses."""
    script = "import sys, resources.dbt; print('dagster_dbt' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "False"
    assert dbt._manifest_path() == dbt._project().manifest_path


def test_a_fresh_manifest_starts_no_parse(project: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    project.manifest_path.write_text("{}")
    monkeypatch.setattr(dbt, "newest_source_mtime", lambda: 0.0)
    assert dbt.start_manifest_parse(Settings()) is False
    assert dbt._PARSING == {}


def test_a_failed_background_parse_raises_with_dbt_output(
    project: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt, "_parse_command", lambda: _parse_writes(project.manifest_path, exit_code=2))
    assert dbt.start_manifest_parse(Settings()) is True
    with pytest.raises(RuntimeError, match=r"dbt parse failed:\n(.|\n)*Compilation Error in model x"):
        dbt.ensure_manifest(project, Settings())
