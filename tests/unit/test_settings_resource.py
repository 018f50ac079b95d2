"""The settings resource: what asset and check bodies take instead of reading the settings themselves."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from dagster import asset, materialize

from resources.settings import PROJECT_ROOT, Settings
from resources.settings_resource import SECRET_FIELDS, SettingsResource

# Where the settings may be read from the environment (`get_settings()`): a process's or a user's entry point, which
# then passes them down. Everything else in assets/, pipelines/ and resources/ takes Settings (or the settings
# resource) as a parameter. (path, enclosing function; "__main__" for a module's `if __name__ == "__main__":` block)
SETTINGS_EDGES = {
    ("pipelines/cli.py", "*"): "the `nexus` CLI: each command reads them once and passes them down",
    ("pipelines/definitions.py", "_configured_definitions"): "the code location's build (workspace.yaml's `defs`)",
    ("resources/dagster_instance.py", "__main__"): "`make serve`: writes the Dagster home",
    ("resources/dbt.py", "__main__"): "the image build (Dockerfile): parses the dbt project",
    ("resources/lake/time_travel.py", "from_env"): "a quant's read_table / pit_join without a lake in hand",
    ("resources/spark/entrypoint.py", "_run_features"): "the Spark job's main, its local engine (a process of its own)",
}
PACKAGES = ("assets", "pipelines", "resources")


def test_it_gives_back_the_settings_it_was_made_from_with_no_secret_in_its_config(monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fred-secret-value")
    monkeypatch.setenv("NEXUS_ALERT_WEBHOOK_URL", "https://hooks.example/secret-path")
    monkeypatch.setenv("NEXUS_SIGNAL_HISTORY_DAYS", "3")
    settings = Settings()
    resource = SettingsResource.from_settings(settings)
    assert "secret" not in resource.values_json and set(json.loads(resource.values_json)).isdisjoint(SECRET_FIELDS)
    assert {"fred_api_key", "alert_webhook_url", "aws_secret_access_key"} <= SECRET_FIELDS
    assert resource.get() == settings  # secrets read from the environment by the step, the rest from the config
    assert resource.get().fred_api_key.get_secret_value() == "fred-secret-value"
    monkeypatch.setenv("NEXUS_SIGNAL_HISTORY_DAYS", "9")  # the config decides, not the environment of the step
    assert resource.get().signal_history_days == 3


def test_an_asset_body_gets_the_settings_of_the_code_location_through_it(monkeypatch):
    monkeypatch.setenv("NEXUS_VACUUM_RETENTION_HOURS", "12")

    @asset
    def probe(settings: SettingsResource) -> int:
        return settings.get().vacuum_retention_hours

    result = materialize([probe], resources={"settings": SettingsResource.from_settings(Settings())})
    assert result.output_for_node("probe") == 12


def test_the_settings_are_read_only_at_the_listed_edges():
    """No stage, probe, sensor, condition or helper reads the settings itself, and no module reads them at import; a
    new caller fails here (pass the settings in, or list a true edge above with why it is one)."""
    callers = settings_reads(PROJECT_ROOT, PACKAGES)
    allowed = {
        (path, where)
        for path, where in callers
        if (path, where) in SETTINGS_EDGES or ((path, "*") in SETTINGS_EDGES and where != "<import>")
    }
    assert callers - allowed == set(), sorted(callers - allowed)
    assert {edge for edge in SETTINGS_EDGES if edge[1] != "*"} <= callers, "an edge listed that reads no settings"


def test_the_edge_scan_sees_reads_in_functions_at_import_and_under_main(tmp_path):
    """The scan behind the edge test finds each kind of read (it is what would let a new caller through)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "reads.py").write_text(
        "from resources.settings import get_settings\n"
        "import resources.settings as s\n"
        "LIMIT = get_settings().seed\n"
        "def helper():\n"
        "    return s.get_settings()\n"
        "class Probe:\n"
        "    def decide(self):\n"
        "        return get_settings()\n"
        "if __name__ == '__main__':\n"
        "    get_settings()\n",
        encoding="utf-8",
    )
    (package / "clean.py").write_text("def f(settings):\n    return settings.seed\n", encoding="utf-8")
    assert settings_reads(tmp_path, ("pkg",)) == {
        ("pkg/reads.py", "<import>"),
        ("pkg/reads.py", "helper"),
        ("pkg/reads.py", "decide"),
        ("pkg/reads.py", "__main__"),
    }


def settings_reads(root: Path, packages: tuple[str, ...]) -> set[tuple[str, str]]:
    """(path, enclosing function) of every `get_settings()` call under `packages`: "<import>" at module level,
    "__main__" under `if __name__ == "__main__":`."""
    found: set[tuple[str, str]] = set()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            found |= {(relative, where) for where in _reads(ast.parse(path.read_text(encoding="utf-8")))}
    return found


def _reads(tree: ast.Module) -> list[str]:
    places: list[str] = []

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            where = node.name
        elif isinstance(node, ast.If) and where == "<import>" and "__main__" in ast.unparse(node.test):
            where = "__main__"
        elif isinstance(node, ast.Call) and _name(node.func) == "get_settings":
            places.append(where)
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, "<import>")
    return places


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def test_every_release_batch_gate_of_the_code_location_reads_the_clock_of_its_settings(tmp_path, monkeypatch):
    """The decorators declare the gate without a clock; the build binds one to each asset's condition, reading the
    publishers' clock file of the settings it was built with (a gate left unbound would fail the automation ticks)."""
    from datetime import UTC, datetime

    from assets.automation import ReleaseBatchLanded
    from pipelines.definitions import build_definitions
    from resources.simulated.clock import PublisherClock

    clock_file = tmp_path / "clock.json"
    PublisherClock(clock_file).set(datetime(2024, 6, 26, 21, 5, tzinfo=UTC))
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    definitions = build_definitions(Settings())
    gates = [
        gate
        for spec in definitions.resolve_all_asset_specs()
        if spec.automation_condition is not None
        for gate in _conditions(spec.automation_condition)
        if isinstance(gate, ReleaseBatchLanded)
    ]
    assert gates, "no asset carries the release-batch gate"
    assert {id(gate) for gate in gates} == {id(gates[0])}, "one shared gate, evaluated once per tick"
    assert gates[0].clock is not None and gates[0].clock() == datetime(2024, 6, 26, 21, 5, tzinfo=UTC)


def _conditions(condition):  # an AutomationCondition tree, depth first
    yield condition
    for child in condition.children:
        yield from _conditions(child)
