"""dbt unit tests (z-scores, percentiles, seasonal averages, point-in-time versions) run in CI on every change.

The nightly build leaves them out (their inputs are fixed), so this test is where they must pass.
"""

import json

from resources.marts_build import run_dbt


def test_every_dbt_unit_test_passes(built_marts, tmp_path):
    # a target of its own: the shared fixture's manifest (compiled code of every model) must stay as it is
    target = tmp_path / "target"
    result = run_dbt(["test", "--select", "test_type:unit"], built_marts.settings, target_path=target, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    run = json.loads((target / "run_results.json").read_text())
    ran = [r["unique_id"] for r in run["results"] if r["unique_id"].startswith("unit_test.")]
    manifest = json.loads((target / "manifest.json").read_text())
    assert sorted(ran) == sorted(manifest["unit_tests"]) and len(ran) >= 7
    statuses = {r["unique_id"]: r["status"] for r in run["results"] if r["unique_id"].startswith("unit_test.")}
    assert set(statuses.values()) == {"pass"}, statuses
