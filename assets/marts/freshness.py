"""Freshness of the marts: each mart that reads a publisher's table is due that publisher's newest release (its
release calendar, America/New_York, + margin) and must have been rebuilt after its inputs changed.

The checks judge what the lake holds, not what the instance remembers: a silver table's newest `available_at` is
the newest release it holds, and its last Delta commit is when it changed. So a lake loaded outside Dagster is
judged as truly as one the daemon built.

They are one multi-asset check (one step, one read of each silver table), non-blocking, evaluated every 30
minutes by the automation sensor and kept out of `marts_job` and automation's mart builds, so a nightly build
pays nothing for them. A mart picked alone in the UI also runs its check (Dagster runs an asset's checks with it):
one in-process step that reads each silver table's newest `available_at` once.
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

import pyarrow.compute as pc
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    multi_asset_check,
)

from assets.ingest.freshness import SilverCalendar, freshness_check_shape
from resources.freshness import MARGIN, MART_MARGIN, InputState, held_freshness, mart_freshness
from resources.lake.delta import open_table
from resources.lake.resource import LakeResource
from resources.lake.storage import LakeStorage
from resources.settings_resource import SettingsResource
from resources.simulated.clock import freshness_now

CHECK_NAME = "fresh_per_release_calendar"


def silver_inputs(key: AssetKey, deps: Mapping[AssetKey, set[AssetKey]], calendars: Mapping) -> list[AssetKey]:
    """The publisher-fed silver tables `key` reads, through any number of dbt models."""
    found: set[AssetKey] = set()
    seen: set[AssetKey] = set()
    stack = [key]
    while stack:
        for dep in deps.get(stack.pop(), set()):
            if dep in calendars:
                found.add(dep)
            elif dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return sorted(found, key=lambda k: k.to_user_string())


def silver_state(storage: LakeStorage, key: AssetKey, calendar: SilverCalendar, now: datetime) -> InputState:
    """A silver table as the lake holds it: fresh per its calendar (newest `available_at`), and its last commit."""
    table = open_table(storage, storage.uri(*key.path))
    if table is None:
        return InputState(key.to_user_string(), held_freshness(calendar.streams, None, now), None)
    newest = pc.max(table.to_pyarrow_dataset().to_table(columns=["available_at"])["available_at"]).as_py()
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    changed_ms = table.history(1)[0]["timestamp"]
    return InputState(key.to_user_string(), held_freshness(calendar.streams, newest, now), changed_ms / 1000)


def mart_inputs(
    marts: Sequence[AssetsDefinition], calendars: Mapping[AssetKey, SilverCalendar]
) -> dict[AssetKey, list[AssetKey]]:
    """Every mart (dbt `marts` schema and the gold copies) that reads a publisher's table, with those tables."""
    deps: dict[AssetKey, set[AssetKey]] = {}
    for definition in marts:
        deps.update({k: set(v) for k, v in definition.asset_deps.items()})
    found = {}
    for definition in marts:
        for key in definition.keys:
            if key.path[0] in ("marts", "gold") and (inputs := silver_inputs(key, deps, calendars)):
                found[key] = inputs
    return found


def mart_freshness_checks(
    marts: Sequence[AssetsDefinition], calendars: Mapping[AssetKey, SilverCalendar]
) -> AssetChecksDefinition:
    """One `fresh_per_release_calendar` check per mart that reads a publisher's table, run as one step."""
    inputs_of = mart_inputs(marts, calendars)
    specs = [
        AssetCheckSpec(
            asset=key,
            **freshness_check_shape(
                CHECK_NAME,
                f"Holds the newest release of {', '.join(sorted({s for i in inputs for s in calendars[i].streams}))} "
                f"due by now (release calendars, America/New_York, + {MARGIN}) and was rebuilt within {MART_MARGIN} "
                f"after its inputs changed ({', '.join(i.to_user_string() for i in inputs)}); fails when a publisher "
                "is late or the mart lags.",
            ),
        )
        for key, inputs in sorted(inputs_of.items(), key=lambda item: item[0].to_user_string())
    ]

    @multi_asset_check(specs=specs, can_subset=True, name="marts_freshness")
    def _marts_freshness(
        context: AssetCheckExecutionContext, lake: LakeResource, settings: SettingsResource
    ) -> Iterator[AssetCheckResult]:
        storage = lake.storage()
        now = freshness_now(settings.get())
        states: dict[AssetKey, InputState] = {}
        for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.to_user_string()):
            yield _verdict(context, check_key, inputs_of[check_key.asset_key], calendars, storage, now, states)

    return _marts_freshness


def _verdict(
    context: AssetCheckExecutionContext,
    check_key: AssetCheckKey,
    inputs: list[AssetKey],
    calendars: Mapping[AssetKey, SilverCalendar],
    storage: LakeStorage,
    now: datetime,
    states: dict[AssetKey, InputState],
) -> AssetCheckResult:
    for key in inputs:
        if key not in states:
            states[key] = silver_state(storage, key, calendars[key], now)
    built = context.instance.get_latest_materialization_event(check_key.asset_key)
    verdict = mart_freshness(
        built.timestamp if built else None, [states[k] for k in inputs], datetime.now(UTC).timestamp()
    )
    return AssetCheckResult(
        asset_key=check_key.asset_key,
        check_name=check_key.name,
        passed=verdict.passed,
        severity=AssetCheckSeverity.WARN,
        description=verdict.description,
        metadata={
            "inputs": ", ".join(k.to_user_string() for k in inputs),
            "expected_release": verdict.expected.at.isoformat() if verdict.expected else "",
            "checked_at": now.isoformat(),
        },
    )
