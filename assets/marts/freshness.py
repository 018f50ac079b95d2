"""Freshness checks on the marts: fresh when every silver table a mart reads is fresh (its publishers' release
calendars plus a margin) and the mart was rebuilt after each of them changed.

Non-blocking, evaluated every 30 minutes like the silver checks, so a late publisher or a stalled chain shows on
the marts an analyst reads, naming the input that holds them back.
"""

import time
from collections.abc import Mapping, Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    asset_check,
)

from assets.ingest.freshness import EVERY_HALF_HOUR, SilverCalendar, silver_freshness
from resources.freshness import InputState, mart_freshness
from resources.settings import get_settings
from resources.simulated.clock import freshness_now


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


def _check(
    key: AssetKey, inputs: list[AssetKey], calendars: Mapping[AssetKey, SilverCalendar]
) -> AssetChecksDefinition:
    names = ", ".join(k.to_user_string() for k in inputs)

    @asset_check(
        asset=key,
        name="fresh_after_its_inputs",
        blocking=False,
        automation_condition=EVERY_HALF_HOUR,
        description=f"Rebuilt after its fresh silver inputs changed ({names}); fails when one is late or it lags.",
    )
    def _fresh(context: AssetCheckExecutionContext) -> AssetCheckResult:
        instance = context.instance
        now = freshness_now(get_settings())
        states = []
        for silver in inputs:
            event = instance.get_latest_materialization_event(silver)
            states.append(
                InputState(
                    silver.to_user_string(),
                    silver_freshness(instance, silver, calendars[silver], now),
                    event.timestamp if event else None,
                )
            )
        built = instance.get_latest_materialization_event(key)
        verdict = mart_freshness(built.timestamp if built else None, states, time.time())
        return AssetCheckResult(
            passed=verdict.passed,
            severity=AssetCheckSeverity.WARN,
            description=verdict.description,
            metadata={"inputs": names, "checked_at": now.isoformat()},
        )

    return _fresh


def mart_freshness_checks(
    marts: Sequence[AssetsDefinition], calendars: Mapping[AssetKey, SilverCalendar]
) -> list[AssetChecksDefinition]:
    """One check per mart (dbt `marts` schema and the gold copies) that reads at least one publisher's table."""
    deps: dict[AssetKey, set[AssetKey]] = {}
    for definition in marts:
        deps.update({k: set(v) for k, v in definition.asset_deps.items()})
    checks = []
    for definition in marts:
        for key in definition.keys:
            if key.path[0] not in ("marts", "gold"):
                continue
            inputs = silver_inputs(key, deps, calendars)
            if inputs:
                checks.append(_check(key, inputs, calendars))
    return checks
