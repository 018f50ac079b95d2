"""The daemon runs Nexus by itself for three publisher days, a failed gate held and released (issue 10).

The scenario is tests/e2e/scenario_daemon_three_days.py (its docstring says what it asserts). It runs as a pytest
session of its own, started when this session's collection ends (tests/e2e/early_runs.py::EarlyScenario) and niced,
so its ~650 CPU s use the core the one-at-a-time integration and e2e tests leave idle; this test is collected last
(tests/e2e/conftest.py) and asserts that the scenario passed, with its output. By hand, in the foreground:
`.venv/bin/pytest -s tests/e2e/scenario_daemon_three_days.py`.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.early_runs import Finished

pytestmark = pytest.mark.slow


def test_the_daemon_runs_three_publisher_days_by_itself(daemon_three_days: Finished) -> None:
    out = daemon_three_days.stdout
    print(out[-4000:])  # each clock move's time to the feed delivery and its runs by stage (-s shows it)
    assert daemon_three_days.returncode == 0, out[-20000:] + daemon_three_days.stderr[-5000:]
    assert re.search(r"\b1 passed\b", out), out[-5000:]  # the scenario ran, not skipped or deselected
    assert len(re.findall(r"clock moved -> feed delivery", out)) >= 3, out[-5000:]
