"""Dagster's SQLite event log, storing a batch of asset events in one transaction per database.

A run over a window of daily partitions records a planned and a materialization event for every asset and day
(the personas' 31-day window: 8 assets x 22 days x 2 = 352 events). Dagster's SQLite storage commits each event
on its own, twice (the run's database and the cross-run index), each commit with its own engine, connection and
fsync: ~6-15 ms per event, more than the personas cost to build. Dagster already groups these events into batches
(`DagsterEventBatchMetadata`, sent to `store_event_batch` when `DAGSTER_EVENT_BATCH_SIZE` is set); its SQLite
storage then stores them one by one. This storage writes each batch in one transaction per database, with the
same rows as `store_event` writes event by event. The daily partitions stay (one-day backfills, the nightly run,
per-day lineage), and a failed run still marks its partitions failed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"  # Dagster's own switch: read when each event is handled
BATCH_SIZE = 1000  # events per transaction at most; a batch ends earlier at its last event


def _batchable(event: EventLogEntry) -> bool:
    """Asset events without a check part: the ones `store_event` writes to the run's database and the index."""
    dagster_event = event.dagster_event
    return dagster_event is not None and dagster_event.event_type in ASSET_EVENTS and bool(dagster_event.asset_key)


class BatchSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage (same files, same tables) that stores an event batch in one transaction per
    database. Opening it asks Dagster for batches (`DAGSTER_EVENT_BATCH_SIZE`, unless the environment sets it, 0
    turning batches off) in every process that uses this instance: `nexus run`, the daemon, the webserver and the
    run workers they start, which all read the same dagster.yaml."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        os.environ.setdefault(BATCH_SIZE_ENV, str(BATCH_SIZE))
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> BatchSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        runs = {event.run_id for event in events}
        if len(runs) != 1 or not all(_batchable(event) for event in events):
            super().store_event_batch(events)  # one by one, as Dagster's own SQLite storage does
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(runs.pop()) as conn:
            for statement in statements:
                conn.execute(statement)
        with self.index_transaction() as conn:
            event_ids = []
            for statement in statements:
                with db_result(conn, statement) as result:
                    event_ids.append(result.inserted_primary_key[0])
            self._store_asset_event_tags(conn, events, event_ids)
            for event, event_id in zip(events, event_ids, strict=True):
                self._store_asset_event(conn, event, event_id)
