"""Release sensors: ingest starts when a publisher releases, on its own calendar (America/New_York).

One sensor per release stream (resources/releases.py). Each tick it reads the publisher's clock (the simulated
publisher's clock file in tests, the wall clock otherwise), takes the releases expected since the last one it
handled, and asks whether each is out; an expected release that is not out yet is asked for again on the next tick
(every `release_sensor_interval_s`, a minute by default) until it appears, so a late publisher is caught rather than
skipped. Each release launches its sources' ingest as of the release's New York day; the automation conditions on
the later stages do the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    PartitionsDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from pydantic import AwareDatetime, BaseModel

from assets.automation import RELEASE_TAG, release_sensor_name
from assets.partitions import Cadence, as_of_tags, partition_key_for
from pipelines.concurrency import DOWNSTREAM_WRITER, writes_tags
from resources.releases import STREAM_INGESTS, STREAMS, Release, latest_release, releases_between
from resources.settings import Settings
from resources.settings_resource import SettingsResource
from resources.simulated.clock import publisher_now

if TYPE_CHECKING:  # the class is not exported by dagster; only the annotation needs it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


class ReleaseCursor(BaseModel):
    """What a release sensor remembers between ticks: the instant of the last release it launched."""

    last: AwareDatetime | None = None


Clock = Callable[[Settings], datetime]
"""The publishers' now under the code location's settings (`resources.simulated.clock.publisher_now`)."""


Probe = Callable[[Release, datetime], bool]


def calendar_probe(release: Release, now: datetime) -> bool:
    """Is the release out? The simulated publisher publishes exactly on its calendar, so: has its clock passed it.

    Live publishers have no common "latest release" endpoint; there the ingest run itself finds what is out and the
    freshness checks fail when a publisher is late.
    """
    return release.at <= now


def due_releases(stream: str, cursor: ReleaseCursor, now: datetime) -> list[Release]:
    """Releases expected since the last launched one; on the first tick only the newest (no history replay)."""
    if cursor.last is None:
        newest = latest_release(stream, now)
        return [newest] if newest else []
    return releases_between(stream, cursor.last, now)


def release_sensor(
    stream: str,
    targets: Sequence[tuple[str, Sequence[AssetKey], str]],
    jobs: Sequence[UnresolvedAssetJobDefinition],
    partitions: dict[Cadence, PartitionsDefinition],
    checks: Mapping[AssetKey, Sequence[AssetCheckKey]] | None = None,
    clock: Clock = publisher_now,
    probe: Probe = calendar_probe,
    interval_s: int = 60,
) -> SensorDefinition:
    """A sensor for one release stream; `targets` are (job name, asset keys, cadence) per ingest it launches, over
    the code location's `partitions`. `checks` are the checks each ingested asset runs with (its quality suite and
    calendar freshness); without it, Dagster's default (every check on the asset, half-hourly ones included).
    `interval_s`: the least time between two ticks (settings.release_sensor_interval_s). Each tick reads the
    publishers' clock with the settings of its `settings` resource (the code location's), its edge."""

    @sensor(
        name=release_sensor_name(stream),
        jobs=list(jobs),
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            f"Ingest {', '.join(STREAM_INGESTS[stream])} when {stream} releases (its calendar, America/New_York; "
            f"asks again every {interval_s} s until an expected release is out)."
        ),
    )
    def _release(context: SensorEvaluationContext, settings: SettingsResource) -> SensorResult | SkipReason:
        cursor = ReleaseCursor.model_validate_json(context.cursor) if context.cursor else ReleaseCursor()
        now = clock(settings.get())
        requests: list[RunRequest] = []
        waiting: Release | None = None
        for release in due_releases(stream, cursor, now):
            if not probe(release, now):
                waiting = release
                break
            requests.extend(release_requests(release, targets, partitions, checks))
            cursor = ReleaseCursor(last=release.at)
        if not requests:
            reason = f"waiting for {stream} expected at {waiting.at.isoformat()}" if waiting else "no release due"
            return SkipReason(reason)
        return SensorResult(run_requests=requests, cursor=cursor.model_dump_json())

    return _release


def release_requests(
    release: Release,
    targets: Sequence[tuple[str, Sequence[AssetKey], str]],
    partitions: dict[Cadence, PartitionsDefinition],
    checks: Mapping[AssetKey, Sequence[AssetCheckKey]] | None = None,
) -> list[RunRequest]:
    """One ingest run per target, as of the release's New York day, keyed so a release never launches twice."""
    day = release.as_of
    return [
        RunRequest(
            run_key=f"{release.stream}:{release.at.isoformat()}:{job_name}:{keys[0].to_user_string()}",
            job_name=job_name,
            partition_key=partition_key_for(day, cadence, partitions[cadence]),  # type: ignore[index]
            asset_selection=list(keys),
            asset_check_keys=None if checks is None else [c for k in keys for c in checks.get(k, ())],
            tags={**as_of_tags(day), RELEASE_TAG: release.stream},
        )
        for job_name, keys, cadence in targets
    ]


def automation_sensor(interval_s: int = 30) -> AutomationConditionSensorDefinition:
    """The daemon's evaluation of every automation condition (marts, models, signals, personas, feeds), at most
    every `interval_s` seconds (settings.automation_interval_s)."""
    return AutomationConditionSensorDefinition(
        "nexus_automation",
        target=AssetSelection.all() | AssetSelection.all_asset_checks(),
        default_status=DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=interval_s,
        run_tags=writes_tags([DOWNSTREAM_WRITER]),
        use_user_code_server=True,  # assets.automation.ReleaseBatchLanded reads the instance and the publishers' clock
        description=(
            "Starts each stage once what it reads is new, every blocking check upstream passed and the release batch "
            "has landed."
        ),
    )


STREAM_NAMES = tuple(STREAMS)
