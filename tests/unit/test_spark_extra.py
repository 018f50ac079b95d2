"""The spark extra is optional: Great Expectations still imports beside pyspark, and nothing else needs it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_great_expectations_imports_with_pyspark_installed():
    pytest.importorskip("pyspark")
    done = _python("import great_expectations, pyspark, sys; print('pyspark.sql.connect' in sys.modules)")
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_code_location_and_cli_load_without_pyspark():
    """`make run` installs no Java and no pyspark: block pyspark and load what it runs."""
    code = (
        "import sys; sys.modules['pyspark'] = None; sys.modules['delta'] = None\n"
        "import pipelines.definitions, pipelines.cli, assets.backfill.assets, resources.spark.backfill\n"
        "assert not any(m.startswith('pyspark.') for m in sys.modules)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr[-2000:]
