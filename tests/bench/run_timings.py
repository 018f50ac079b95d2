"""Where the time of a `nexus run` went, from the Dagster instance's event log: each run's wall time and each
step's time (STEP_START to STEP_SUCCESS/FAILURE), so the orchestration between and around steps can be told apart
from the assets' own compute. A step's time includes loading its inputs and handling its outputs (IO managers),
which belong to the asset's work here: the assets read and write the lake themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

_STEP_ENDS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


@dataclass(frozen=True)
class StepTiming:
    job: str
    step: str
    seconds: float


@dataclass(frozen=True)
class RunTimings:
    runs_seconds: float  # sum over runs of RUN_START..end
    steps: list[StepTiming]

    @property
    def steps_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def by_job(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for s in self.steps:
            totals[s.job] = totals.get(s.job, 0.0) + s.seconds
        return totals


def step_timings(instance: DagsterInstance) -> RunTimings:
    """Step and run durations of every run the instance holds (a bench's instance holds one `nexus run`)."""
    runs_seconds = 0.0
    steps: list[StepTiming] = []
    for record in instance.get_run_records():
        if record.start_time and record.end_time:
            runs_seconds += record.end_time - record.start_time
        started: dict[str, float] = {}
        kinds = {DagsterEventType.STEP_START, *_STEP_ENDS}
        for entry in instance.all_logs(record.dagster_run.run_id, of_type=kinds):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.step_key in started:
                seconds = entry.timestamp - started.pop(event.step_key)
                steps.append(StepTiming(record.dagster_run.job_name, event.step_key, seconds))
    return RunTimings(runs_seconds, steps)


def timings_of_home(dagster_home: Path) -> RunTimings:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return step_timings(instance)
