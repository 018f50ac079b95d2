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


MART_MARGIN = timedelta(hours=1)
"""Time a mart may take to follow a newer input (automation tick, dbt build) before it counts as stale."""


@dataclass(frozen=True)
class InputState:
    """One silver table a mart reads: its own freshness verdict and when it was last written (epoch seconds)."""

    name: str
    freshness: Freshness
    updated_at: float | None


def mart_freshness(built_at: float | None, inputs: list[InputState], now_ts: float) -> Freshness:
    """A mart is fresh when every silver table it reads is fresh and it was rebuilt after each of them changed.

    The inputs' verdicts carry the publishers' calendars (release + margin); the rebuild is judged on the
    instance's wall-clock timestamps, with MART_MARGIN for the automation to catch up.
    """
    late = [i for i in inputs if not i.freshness.passed]
    if late:
        return Freshness(False, late[0].freshness.expected, f"input {late[0].name} is {late[0].freshness.description}")
    if built_at is None:
        return Freshness(False, None, "never built")
    margin = MART_MARGIN.total_seconds()
    behind = [
        i for i in inputs if i.updated_at is not None and i.updated_at > built_at and now_ts - i.updated_at > margin
    ]
    if behind:
        return Freshness(
            False, None, f"stale: {behind[0].name} changed after this mart was built, over {MART_MARGIN} ago"
        )
    return Freshness(True, None, f"rebuilt after the newest of {len(inputs)} fresh silver tables it reads")
