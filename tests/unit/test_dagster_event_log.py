"""The batching SQLite event log stores what Dagster's own SQLite event log stores, in one transaction per batch.

Each test runs the same partitioned multi-asset over a range of days (one run, as `nexus run` runs a window) on a
home with Dagster's `SqliteEventLogStorage` and on one with `BatchSqliteEventLogStorage`, and compares what the
UI, the daemon's automation and `nexus run` read back: every event of the run, the materialized, failed and
in-progress partitions, the asset records.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    materialize,
    multi_asset,
)
from dagster._core.storage.event_log import SqliteEventLogStorage

from assets.partitions import range_tags
from resources.dagster_event_log import BATCH_SIZE_ENV, BatchSqliteEventLogStorage

DAYS = DailyPartitionsDefinition(start_date="2025-12-01")
KEYS = [AssetKey(["gold", "toy", name]) for name in ("a", "b")]
RANGE = range_tags("2025-12-01", "2025-12-05")
PARTITIONS = {f"2025-12-0{d}" for d in range(1, 6)}


def _toy(fail: bool) -> object:
    @multi_asset(
        specs=[AssetSpec(key, partitions_def=DAYS) for key in KEYS],
        backfill_policy=BackfillPolicy.single_run(),
        can_subset=False,
    )
    def toy():
        if fail:
            raise RuntimeError("the toy step fails")
        for key in KEYS:
            yield MaterializeResult(asset_key=key, metadata={"rows": 3})

    return toy


def _home(tmp: Path, storage: type[SqliteEventLogStorage]) -> Path:
    home = tmp / storage.__name__
    home.mkdir()
    runs = str(home / "history" / "runs")
    config = {"module": storage.__module__, "class": storage.__name__, "config": {"base_dir": runs}}
    (home / "dagster.yaml").write_text(yaml.safe_dump({"telemetry": {"enabled": False}, "event_log_storage": config}))
    return home


def _what_is_read_back(instance: DagsterInstance, run_id: str) -> dict[str, object]:
    events = instance.all_logs(run_id)
    storage = instance.event_log_storage
    records = {r.asset_entry.asset_key: r.asset_entry for r in instance.get_asset_records(KEYS)}
    return {
        "events": [(e.dagster_event_type, e.step_key, e.dagster_event and e.dagster_event.partition) for e in events],
        "asset events": [
            (r.event_log_entry.dagster_event_type, r.asset_key, r.partition_key)
            for fetch in (instance.fetch_materializations, instance.fetch_planned_materializations)
            for key in KEYS
            for r in fetch(key, limit=100, ascending=True).records
        ],
        "materialized": {key: storage.get_materialized_partitions(key) for key in KEYS},
        # partition -> (run id, event id), which differ between the homes: the partitions are compared
        "attempts without materialization": {
            key: sorted(storage.get_latest_asset_partition_materialization_attempts_without_materializations(key))
            for key in KEYS
        },
        "last materialized partition": {
            key: records[key].last_materialization and records[key].last_materialization.dagster_event.partition
            for key in KEYS
        },
        "last run": {key: records[key].last_run_id == run_id for key in KEYS},
        # the asset records point at the stored events they copy (storage ids are the event log's row ids)
        "records point at their events": {
            key: [r.storage_id for r in instance.fetch_materializations(key, limit=1).records]
            == [r.storage_id for r in [records[key].last_materialization_record] if r]
            for key in KEYS
        },
    }


def _no_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset for this test and restored after it (the storage sets it in this process when it opens)."""
    monkeypatch.setenv(BATCH_SIZE_ENV, "")
    monkeypatch.delenv(BATCH_SIZE_ENV)


def _count_batches(monkeypatch: pytest.MonkeyPatch, spy: Callable[[int], None]) -> None:
    original = BatchSqliteEventLogStorage.store_event_batch

    def counted(self: BatchSqliteEventLogStorage, events) -> None:
        spy(len(events))
        original(self, events)

    monkeypatch.setattr(BatchSqliteEventLogStorage, "store_event_batch", counted)


def _run(home: Path, fail: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        result = materialize([_toy(fail)], instance=instance, tags=RANGE, raise_on_error=False)
        assert result.success is not fail
        return _what_is_read_back(instance, result.run_id)


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "fails"])
def test_batches_store_what_dagsters_sqlite_event_log_stores(tmp_path, monkeypatch, fail):
    _no_batch_size(monkeypatch)
    batches: list[int] = []
    _count_batches(monkeypatch, batches.append)
    dagster_own = _run(_home(tmp_path, SqliteEventLogStorage), fail, monkeypatch)
    assert batches == []  # Dagster's own storage never reaches the batching one
    batched = _run(_home(tmp_path, BatchSqliteEventLogStorage), fail, monkeypatch)
    # 2 assets x 5 days planned, and, when the step succeeds, 2 x 5 materialized: one batch per asset and kind
    assert batches == ([10] if fail else [10, 5, 5])
    assert batched == dagster_own
    if fail:  # the run's partitions are failed, not in progress: automation does not take them for running
        assert all(partitions for partitions in batched["attempts without materialization"].values())
        assert batched["materialized"] == {key: set() for key in KEYS}
    else:
        assert batched["materialized"] == {key: PARTITIONS for key in KEYS}
        assert batched["last materialized partition"] == {key: "2025-12-05" for key in KEYS}
    assert batched["records point at their events"] == {key: True for key in KEYS}


def test_opening_the_storage_asks_dagster_for_batches_unless_the_environment_says(tmp_path, monkeypatch):
    _no_batch_size(monkeypatch)
    BatchSqliteEventLogStorage(str(tmp_path / "a"))
    assert int(os.environ[BATCH_SIZE_ENV]) > 1
    monkeypatch.setenv(BATCH_SIZE_ENV, "0")  # a person's choice (0: no batches) is kept
    BatchSqliteEventLogStorage(str(tmp_path / "b"))
    assert os.environ[BATCH_SIZE_ENV] == "0"
