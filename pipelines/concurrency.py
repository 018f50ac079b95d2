"""One writer per table: run tags that the instance's run queue limits to one run at a time.

Every run carries a `nexus/writes/<writer>` tag per group of tables it writes: each ingest multi-asset is one writer
(its bronze and silver tables), and everything after ingest (reference, dbt, gold, models, signals, personas,
feeds) is one writer, `downstream`, because each of those stages rewrites tables the next one reads. The run queue
in dagster.yaml allows one run per tag key, so a release run for Cboe waits while another Cboe ingest is going, and
two automation ticks can never build the marts at once. Runs of different publishers still run side by side.
"""

from __future__ import annotations

from collections.abc import Iterable

WRITES_TAG_PREFIX = "nexus/writes/"
DOWNSTREAM_WRITER = "downstream"


def writes_tags(writers: Iterable[str]) -> dict[str, str]:
    return {f"{WRITES_TAG_PREFIX}{writer}": "1" for writer in writers}


def run_queue_limits(writers: Iterable[str]) -> list[dict[str, object]]:
    """The `run_queue.tag_concurrency_limits` entries dagster.yaml must hold for these writers."""
    return [{"key": key, "limit": 1} for key in writes_tags(writers)]
