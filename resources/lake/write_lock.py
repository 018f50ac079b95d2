"""One writer per table: a source's silver tables are committed by one writer at a time, backfill or nightly.

A backfill computes a table from a snapshot of bronze and replaces it; a nightly merge committed between that
snapshot and the replace would be silently dropped by it. So every writer of a source's tables (the nightly
ingest from the CLI and from Dagster, and `nexus backfill` on either engine) holds this lock from before it reads
until after it commits. On a local lake it is an OS file lock (`<lake>/_locks/<source>.lock`, released by the OS
if the holder dies). On S3, where several machines write, the Dagster concurrency pool `lake-<source>` (limit 1,
set in the instance's `concurrency.pools`) serialises the ingest and backfill runs instead.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resources.lake.storage import LakeStorage

log = logging.getLogger(__name__)


def pool_for(source: str) -> str:
    """The Dagster concurrency pool of every op that commits to `source`'s silver tables."""
    return f"lake-{source}"


@contextmanager
def source_write_lock(storage: LakeStorage, source: str, *, timeout_s: float = 6 * 3600) -> Iterator[None]:
    """Hold the write lock of `source`'s tables; waits for the current holder (TimeoutError after `timeout_s`)."""
    if storage.is_s3:
        yield  # serialised by the Dagster pool (see the module docstring)
        return
    path = Path(storage.root_uri) / "_locks" / f"{source}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log.info("waiting for the %s write lock (another backfill or ingest is committing)", source)
                    waited = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{source}: write lock still held after {timeout_s:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
