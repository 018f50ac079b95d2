"""How fresh a table should be: the newest release its publishers were due to make, plus a margin.

A silver table is an as-of snapshot: it is fresh when its newest materialized partition is the one holding the
newest release that should be out by now (expected release time + margin). A late publisher, a stopped sensor
or a failed ingest all show up the same way: the check fails and says which release it waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from resources.releases import Release, latest_release

MARGIN = timedelta(hours=2)
"""Time after a release's calendar time before the table counts as late (sensor tick, ingest run, retries)."""


@dataclass(frozen=True)
class Freshness:
    passed: bool
    expected: Release | None
    description: str


def expected_release(streams: tuple[str, ...], now: datetime, margin: timedelta = MARGIN) -> Release | None:
    """The newest release of any of `streams` that should have landed by `now`."""
    found = [r for r in (latest_release(s, now - margin) for s in streams) if r is not None]
    return max(found) if found else None


def snapshot_freshness(
    streams: tuple[str, ...], latest_partition: str | None, partition_of: Callable[[date], str], now: datetime
) -> Freshness:
    """Is the newest materialized as-of partition at least the partition of the newest expected release?

    `partition_of` maps an expected release's as-of day to its partition key (daily or weekly).
    """
    expected = expected_release(streams, now)
    if expected is None:
        return Freshness(True, None, "no release expected in the last two weeks")
    wanted = partition_of(expected.as_of)
    due = f"{expected.stream} release of {expected.at.isoformat()} (partition {wanted}, due + {MARGIN})"
    if latest_partition is None:
        return Freshness(False, expected, f"never materialized; waiting for the {due}")
    if latest_partition >= wanted:
        return Freshness(True, expected, f"has partition {latest_partition}, covering the {due}")
    return Freshness(False, expected, f"late: newest partition {latest_partition}, expected the {due}")
