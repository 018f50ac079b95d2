"""How fresh a table should be: the newest release its publishers were due to make, plus a margin.

A silver table is an as-of snapshot: it is fresh when its newest materialized partition is the one holding the
newest release that should be out by now (expected release time + margin). A late publisher, a stopped sensor
or a failed ingest all show up the same way: the check fails and says which release it waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from resources.releases import Release, latest_release

NEW_YORK = ZoneInfo("America/New_York")
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


def held_freshness(streams: tuple[str, ...], newest_release: datetime | None, now: datetime) -> Freshness:
    """Does a table holding releases up to `newest_release` (its newest `available_at`) hold the newest release of
    `streams` due by `now`? Judged on the release's New York day: a table's rows carry the release day's instant
    in their own convention (a close, a vintage date, a fetch), never an earlier day."""
    expected = expected_release(streams, now)
    if expected is None:
        return Freshness(True, None, "no release expected in the last two weeks")
    due = f"{expected.stream} release of {expected.at.isoformat()} (due + {MARGIN})"
    if newest_release is None:
        return Freshness(False, expected, f"empty; waiting for the {due}")
    held = newest_release.astimezone(NEW_YORK).date()
    if held >= expected.as_of:
        return Freshness(True, expected, f"holds releases through {held}, covering the {due}")
    return Freshness(False, expected, f"late: holds releases through {held}, expected the {due}")


MART_MARGIN = timedelta(hours=1)
"""Time a mart may take to follow a newer input (automation tick, dbt build) before it counts as stale."""


@dataclass(frozen=True)
class InputState:
    """One silver table a mart reads: its freshness verdict and when it last changed (epoch seconds)."""

    name: str
    freshness: Freshness
    changed_at: float | None


def mart_freshness(built_at: float | None, inputs: list[InputState], now_ts: float) -> Freshness:
    """A mart is fresh when every silver table it reads is fresh and it was rebuilt after each of them changed
    (with MART_MARGIN for the automation to catch up)."""
    late = [i for i in inputs if not i.freshness.passed]
    if late:
        return Freshness(False, late[0].freshness.expected, f"input {late[0].name}: {late[0].freshness.description}")
    if built_at is None:
        return Freshness(False, None, "never built")
    margin = MART_MARGIN.total_seconds()
    behind = [i for i in inputs if i.changed_at is not None and built_at < i.changed_at < now_ts - margin]
    if behind:
        return Freshness(
            False, None, f"stale: {behind[0].name} changed after this mart was built, over {MART_MARGIN} ago"
        )
    names = ", ".join(i.name for i in inputs)
    return Freshness(True, None, f"rebuilt after its fresh inputs last changed ({names})")
