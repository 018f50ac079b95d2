"""The install compiles the environment's packages to bytecode: with PYTHONDONTWRITEBYTECODE set (the Makefile
exports it) no import writes a .pyc, and a venv installed by uv without --compile-bytecode had none, so every
process compiled Dagster, pandas and Great Expectations from source on each start (~5 s of a fresh-clone run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["dagster", "pandas", "great_expectations", "dagster_dbt"])
def test_the_installed_packages_have_bytecode(package: str):
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    init = Path(spec.origin)
    cached = init.parent / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc"
    hint = "install with `make install` (uv --compile-bytecode)"
    assert cached.is_file(), f"{package} has no bytecode in {init.parent}: {hint}"
