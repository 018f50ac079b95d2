"""Each folder README states its import rule, and it is the rule import-linter enforces (pyproject's contracts).

The READMEs of `pipelines/`, `assets/` and `resources/` each hold one paragraph starting "Imports (enforced by
import-linter": the packages it may import (`may import ...`) and may not (`never ...` / `nothing from ...`) must be
the layers below and above it in the layers contract; `assets/`'s stage order must be the stages contract's layers;
a package under the no-cycles contract says so, and names each cycle the contract ignores.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
NAMES = r"((?:`[\w.]+`(?:,|\s|and|or)*)+)"


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _contract(kind: str, containers: bool) -> dict:
    return next(c for c in _contracts() if c["type"] == kind and bool(c.get("containers")) == containers)


def _rule(package: str) -> str:
    """The README's import paragraph, on one line."""
    text = " ".join((ROOT / package / "README.md").read_text().split())
    found = re.search(r"Imports \(enforced by import-linter.*?(?= #|$)", text)
    assert found, f"{package}/README.md states no import rule"
    return found.group(0)


def _named(pattern: str, rule: str) -> set[str]:
    return {name for match in re.finditer(pattern + " " + NAMES, rule) for name in re.findall(r"`([\w.]+)`", match[1])}


def _layer_sets(layers: list[str]) -> list[set[str]]:
    return [{name.strip() for name in layer.split("|")} for layer in layers]


@pytest.mark.parametrize("package", _contract("layers", containers=False)["layers"])
def test_each_package_readme_states_the_layers_contract(package):
    layers = _contract("layers", containers=False)["layers"]
    rule = _rule(package)
    position = layers.index(package)
    assert _named("may import", rule) == set(layers[position + 1 :]), rule
    assert _named(r"(?:never|nothing from)", rule) == set(layers[:position]), rule


def test_the_assets_readme_lists_the_stages_contract_in_order():
    contract = _contract("layers", containers=True)
    rule = _rule("assets")
    chain = re.search(r"Each stage imports only the stages before it: (.*?)(?:;|\.\s)", rule)
    assert chain, rule
    stated = [set(re.findall(r"`([\w.]+)`", part)) for part in chain[1].split(">")]
    assert stated == _layer_sets(contract["layers"]), f"README: {stated}\npyproject: {contract['layers']}"


@pytest.mark.parametrize("package", _contract("acyclic_siblings", containers=False)["ancestors"])
def test_no_cycles_and_each_ignored_cycle_are_stated(package):
    rule = _rule(package)
    assert "no cycles" in rule, rule
    for ignored in _contract("acyclic_siblings", containers=False).get("ignore_imports", []):
        parts = ignored.split(" -> ")[0].split(".")
        if parts[0] != package:
            continue
        suffixes = {".".join(parts[i:]) for i in range(1, len(parts))}
        assert suffixes & set(re.findall(r"`([\w.]+)`", rule)), f"{package}/README.md does not name {ignored}"


def test_the_personas_readme_states_its_stage_rule_and_where_dagster_is_imported():
    """assets/personas/README.md: the stages it may import are those below it in the stages contract (and
    `resources`), the rest never; only the wrappers it names import Dagster."""
    layers = _layer_sets(_contract("layers", containers=True)["layers"])
    position = next(i for i, layer in enumerate(layers) if "personas" in layer)
    readme = (ROOT / "assets" / "personas" / "README.md").read_text()
    found = re.search(r"Imports \(enforced by import-linter.*?(?=\n\n)", readme, re.S)
    assert found, "assets/personas/README.md states no import rule"
    rule = " ".join(found.group(0).split())
    assert _named("may import", rule) == set().union(*layers[position + 1 :]) | {"resources"}, rule
    assert _named("never", rule) == set().union(*layers[:position]) | {"pipelines"}, rule
    wrappers = set(re.findall(r"`(\w+\.py)`", readme.split("Dagster only in", 1)[1].split(".\n", 1)[0]))
    importing = {path.name for path in (ROOT / "assets" / "personas").glob("*.py") if _imports_dagster(path)}
    assert wrappers and importing == wrappers, (importing, wrappers)


def _imports_dagster(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(name == "dagster" or name.startswith(("dagster.", "dagster_")) for name in names):
            return True
    return False
