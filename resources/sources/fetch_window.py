"""Incremental live fetch: ask a publisher only for what may have changed, with a periodic full refresh.

A live nightly ingest used to ask for the whole history since the configured start, so bronze kept a full copy of
every series each night. Now each series (FRED series, EIA series, COT market, Coin Metrics asset) is asked from
`live_lookback_days` before its last observation in silver: revisions inside that window (FRED vintages of recent
observations, CFTC corrections of the last weeks, restated recent EIA weeks and Coin Metrics days) still arrive.
At least every `live_full_refresh_days` of as-of time, and whenever a series has nothing in silver yet, the whole
history is asked again, so a restatement older than the window is caught by the next full refresh.

The as-of date (the ingest's `end`) is the clock, not the wall clock: live nightly runs end today, and a replay
or a benchmark of past nights sees the same schedule. Simulated and files modes always fetch in full.
Which full refresh happened last is kept per source in `bronze/_fetch_state/<source>.json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import pyarrow.compute as pc
from pydantic import BaseModel

from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.settings import Settings


class FetchPlan(BaseModel):
    """Where to start asking, per series; `full` when the whole requested history is asked."""

    full: bool
    starts: dict[str, date | None]
    reason: str

    def start_for(self, keys: Iterable[str]) -> date | None:
        """One start for a request covering several series: the earliest any of them needs (None: no bound)."""
        wanted = [self.starts.get(k) for k in keys]
        if any(s is None for s in wanted) or not wanted:
            return None
        return min(s for s in wanted if s is not None)


def _state_uri(storage: LakeStorage, source: str) -> str:
    return storage.uri("bronze", "_fetch_state", f"{source}.json")


def last_full_refresh(storage: LakeStorage, source: str) -> date | None:
    """The as-of date of the source's last full live fetch, if any."""
    uri = _state_uri(storage, source)
    if not storage.exists(uri):
        return None
    return date.fromisoformat(json.loads(storage.read_bytes(uri))["last_full_as_of"])


def record_full_refresh(storage: LakeStorage, source: str, as_of: date) -> None:
    body = {"source": source, "last_full_as_of": as_of.isoformat()}
    storage.write_bytes(_state_uri(storage, source), (json.dumps(body, sort_keys=True) + "\n").encode())


def last_observed(storage: LakeStorage, spec: TableSpec, key_column: str) -> dict[str, date]:
    """The last observation date in silver of each value of `key_column` (a series, a market, an asset)."""
    if spec.date_column is None:
        return {}
    table = read_table(storage, spec, columns=[key_column, spec.date_column])
    if table.num_rows == 0:
        return {}
    grouped = table.group_by(key_column).aggregate([(spec.date_column, "max")])
    return dict(
        zip(
            grouped.column(key_column).to_pylist(),
            pc.cast(grouped.column(f"{spec.date_column}_max"), "date32").to_pylist(),
            strict=True,
        )
    )


def plan_fetch(
    keys: Iterable[str],
    *,
    requested_start: date | None,
    as_of: date,
    last_seen: Mapping[str, date],
    last_full: date | None,
    lookback_days: int,
    full_refresh_days: int,
) -> FetchPlan:
    """The pure decision: incremental starts per key, or a full refresh (and why)."""
    keys = list(keys)
    full = {k: requested_start for k in keys}
    if full_refresh_days <= 0:
        return FetchPlan(full=True, starts=full, reason="full refresh on every fetch")
    if last_full is None:
        return FetchPlan(full=True, starts=full, reason="no full refresh recorded yet")
    if (as_of - last_full).days >= full_refresh_days:
        return FetchPlan(full=True, starts=full, reason=f"last full refresh as of {last_full}")
    unseen = [k for k in keys if k not in last_seen]
    if unseen:
        return FetchPlan(full=True, starts=full, reason=f"nothing in silver yet for {', '.join(sorted(unseen))}")
    starts: dict[str, date | None] = {}
    for key in keys:
        start = last_seen[key] - timedelta(days=lookback_days)
        starts[key] = start if requested_start is None else max(start, requested_start)
    return FetchPlan(
        full=False, starts=starts, reason=f"incremental: {lookback_days} days before each last observation"
    )


def live_fetch_plan(
    storage: LakeStorage,
    settings: Settings,
    *,
    source: str,
    mode: str,
    spec: TableSpec,
    key_column: str,
    keys: Iterable[str],
    requested_start: date | None,
    as_of: date,
) -> FetchPlan:
    """The plan for one source table in the current mode: incremental only in live mode, when enabled."""
    keys = list(keys)
    if mode != "live" or not settings.live_incremental:
        return FetchPlan(full=True, starts=dict.fromkeys(keys, requested_start), reason=f"{mode} mode: full fetch")
    return plan_fetch(
        keys,
        requested_start=requested_start,
        as_of=as_of,
        last_seen=last_observed(storage, spec, key_column),
        last_full=last_full_refresh(storage, source),
        lookback_days=settings.live_lookback_days,
        full_refresh_days=settings.live_full_refresh_days,
    )
