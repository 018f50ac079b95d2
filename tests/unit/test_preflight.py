"""`nexus run` leaves a job out only when every step of it would skip: each step's own probe finds its inputs, code,
config and outputs unchanged, its check-only steps check those assets, and its last run succeeded. A job left out
launches no run and writes nothing, and its assets say why in an observation."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, asset, asset_check, define_asset_job

from assets.skips import PROBES, Window
from pipelines.preflight import record_skips, skippable_steps
from pipelines.runner import skip_job, timing_rows
from resources.lake.delta import overwrite_table
from resources.lake.stage_state import SKIPPED, StageFingerprint, record_run, table_versions, unchanged
from resources.lake.storage import LakeStorage
from resources.settings import Settings

WINDOW = Window(date(2024, 6, 3), date(2024, 6, 28))


@asset(key=["gold", "demo", "derived"])
def preflight_demo_derived() -> None:
    """Stands in for a stage step; what it computes does not matter here, only whether it may be left out."""


@asset_check(asset=preflight_demo_derived)
def preflight_demo_check() -> bool:
    return True


@asset(key=["gold", "demo", "unprobed"])
def preflight_demo_unprobed() -> None:
    """A step with no registered probe."""


def _lake(storage: LakeStorage) -> tuple[str, str]:
    source, target = storage.uri("gold", "demo", "source"), storage.uri("gold", "demo", "derived")
    overwrite_table(storage, source, pa.table({"x": [1, 2]}))
    overwrite_table(storage, target, pa.table({"y": [3]}))
    return source, target


def _state(storage: LakeStorage, source: str, target: str) -> tuple[StageFingerprint, list[str]]:
    return StageFingerprint(stage="demo", inputs=table_versions(storage, [source]), code="c", config="k"), [target]


@pytest.fixture
def probed(storage, monkeypatch):
    source, target = _lake(storage)
    calls: list[tuple[Settings, Window]] = []

    def probe(lake: LakeStorage, settings: Settings, window: Window):
        calls.append((settings, window))
        return unchanged(lake, *_state(lake, source, target))

    monkeypatch.setitem(PROBES, "gold__demo__derived", probe)
    record_run(storage, *_state(storage, source, target), {"rows": 1})
    return source, target, calls


def _job(*assets_defs, name: str = "demo_job"):
    defs = Definitions(assets=list(assets_defs), jobs=[define_asset_job(name, selection=AssetSelection.all())])
    return defs.resolve_job_def(name)


def test_a_job_is_left_out_only_after_a_successful_run_and_while_its_inputs_are_unchanged(storage, settings, probed):
    source, _, calls = probed
    job = _job(preflight_demo_derived, preflight_demo_check)
    with DagsterInstance.ephemeral() as instance:
        assert skippable_steps(job, storage, settings, WINDOW, instance) is None  # never run in this instance: run it
        assert job.execute_in_process(instance=instance).success
        steps = skippable_steps(job, storage, settings, WINDOW, instance)
        assert steps is not None and [s.op for s in steps] == ["gold__demo__derived"]
        assert calls[-1][0] is settings and calls[-1][1] == WINDOW and steps[0].summary == {"rows": 1}

        overwrite_table(storage, source, pa.table({"x": [1, 2, 3]}))  # a new input version
        assert skippable_steps(job, storage, settings, WINDOW, instance) is None


def test_a_job_with_a_step_that_has_no_probe_always_runs(storage, settings, probed):
    job = _job(preflight_demo_derived, preflight_demo_unprobed)
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        assert skippable_steps(job, storage, settings, WINDOW, instance) is None


def test_a_job_whose_last_run_failed_runs_again(storage, settings, probed):
    job = _job(preflight_demo_derived)
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        assert skippable_steps(job, storage, settings, WINDOW, instance) is not None
        failing = _job(_failing_derived())
        assert not failing.execute_in_process(instance=instance, raise_on_error=False).success
        assert skippable_steps(job, storage, settings, WINDOW, instance) is None


def _failing_derived():
    @asset(key=["gold", "demo", "derived"])
    def preflight_demo_derived() -> None:
        raise RuntimeError("a failed build")

    return preflight_demo_derived


def test_a_job_left_out_launches_no_run_writes_nothing_and_says_why(storage, settings, probed):
    job = _job(preflight_demo_derived, preflight_demo_check)
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
        runs = len(instance.get_runs())
        versions = table_versions(storage, [storage.uri("gold", "demo", n) for n in ("source", "derived")])
        lines: list[str] = []
        outcome = skip_job(job, instance, storage, settings, WINDOW, lines.append, partition_key=None)

        assert outcome is not None and outcome.success and outcome.run_id == ""
        assert len(instance.get_runs()) == runs
        assert table_versions(storage, [storage.uri("gold", "demo", n) for n in ("source", "derived")]) == versions
        assert lines == [lines[0]] and SKIPPED in lines[0] and "no run launched" in lines[0]
        observed = instance.fetch_observations(AssetKey(["gold", "demo", "derived"]), limit=1).records
        assert observed[0].asset_observation.metadata["skipped"].value == SKIPPED
        rows = timing_rows([outcome])
        assert [(r.step, r.skipped) for r in rows] == [("", "yes"), ("gold__demo__derived", "yes")]


def test_partitioned_assets_are_observed_on_the_given_partition(storage, settings, probed):
    from dagster import DailyPartitionsDefinition

    daily = DailyPartitionsDefinition(start_date="2024-06-01")

    @asset(key=["gold", "demo", "derived"], partitions_def=daily)
    def preflight_demo_derived() -> None:
        """Partitioned stand-in."""

    job = _job(preflight_demo_derived)
    steps = skippable_steps(job, storage, settings, WINDOW, DagsterInstance.ephemeral())  # no run yet: not skippable
    assert steps is None
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance, partition_key="2024-06-28").success
        steps = skippable_steps(job, storage, settings, WINDOW, instance)
        assert steps is not None and steps[0].partitioned
        record_skips(instance, steps, "2024-06-28", WINDOW)
        observed = instance.fetch_observations(AssetKey(["gold", "demo", "derived"]), limit=1).records[0]
        assert observed.partition_key == "2024-06-28"
