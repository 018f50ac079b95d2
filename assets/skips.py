"""Each stage's skip decision as a plain function, shared by its asset and by `nexus run`'s preflight.

An asset skips its work when its inputs (table versions), code and configuration are those of its last successful
build and its outputs are as it left them (resources/lake/stage_state.py). The same decision, made before a job
is launched, lets `nexus run` leave a whole job out when every step of it would skip: no Dagster run, no dbt, no
heavy input loaded (pipelines/preflight.py). A probe registers under the op name of the step it decides for; a
step without a probe is never skipped from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from resources.lake.stage_state import StageRecord
from resources.lake.storage import LakeStorage
from resources.settings import Settings


@dataclass(frozen=True)
class Window:
    """The days a step covers: (first, last) decision days of a daily job, the as-of day of an ingest (`last`),
    or NEXUS_END_DATE for an unpartitioned job (`first` None)."""

    first: date | None
    last: date


Probe = Callable[[LakeStorage, Settings, Window], StageRecord | None]
"""The step's last record when it would skip (same inputs, code, config; outputs untouched), else None. It decides
with the settings it is handed (the run's, from `nexus run`; the step's SettingsResource, from its asset) and reads
none itself."""

PROBES: dict[str, Probe] = {}


def skip_probe(op_name: str) -> Callable[[Probe], Probe]:
    """Register `probe` as the skip decision of the step `op_name` (its asset calls the same function)."""

    def register(probe: Probe) -> Probe:
        PROBES[op_name] = probe
        return probe

    return register
