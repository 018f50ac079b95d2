"""Execute a job in process as a run of the workspace's code location, so the UI lists it under its job.

`JobDefinition.execute_in_process` records runs without a repository origin: the UI's job pages and the
Overview timeline filter on that origin and said "No runs found" after a full `nexus run`. This does what
`execute_in_process` does, but creates the run with the origin of workspace.yaml's code location (the one
`dagster-webserver -w workspace.yaml` loads) and the Python origin that can re-execute it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult, JobDefinition
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import ExecuteRunWithPlanIterable, create_execution_plan, job_execution_iterator
from dagster._core.execution.context_creation_job import (
    PlanOrchestrationContextManager,
    orchestration_context_event_generator,
)
from dagster._core.execution.execute_in_process import merge_run_tags
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths

REPOSITORY_NAME = "__repository__"  # the name Dagster gives the repository a `Definitions` object builds


class CodeLocation:
    """workspace.yaml's single Python-module code location, as run origins."""

    def __init__(self, workspace_file: Path) -> None:
        origins = location_origins_from_yaml_paths([str(workspace_file)])
        if len(origins) != 1 or not isinstance(origins[0], ManagedGrpcPythonEnvCodeLocationOrigin):
            raise ValueError(f"{workspace_file} must declare exactly one python_module code location")
        self.origin = origins[0]
        target = self.origin.loadable_target_origin
        if not target.module_name or not target.attribute:
            raise ValueError(f"{workspace_file} must name the module and the attribute of the code location")
        self.repository = RemoteRepositoryOrigin(self.origin, REPOSITORY_NAME)
        self.python = RepositoryPythonOrigin(
            executable_path=sys.executable,
            code_pointer=ModuleCodePointer(target.module_name, target.attribute, str(workspace_file.resolve().parent)),
            container_image=None,
            entry_point=None,
            container_context=None,
        )

    @property
    def label(self) -> str:
        """What the UI filters a job's runs on (`.dagster/repository` tag)."""
        return self.repository.get_label()

    def job_origins(self, job_name: str) -> tuple[RemoteJobOrigin, JobPythonOrigin]:
        return self.repository.get_job_origin(job_name), JobPythonOrigin(job_name, self.python)


def execute_as_location_run(
    job: JobDefinition,
    location: CodeLocation,
    instance: DagsterInstance,
    *,
    run_config: Mapping[str, object],
    tags: Mapping[str, str],
    partition_key: str | None = None,
) -> ExecuteInProcessResult:
    """Run `job` in this process (in-process executor), recorded as a run of `location`'s job of that name."""
    ephemeral = job.as_ephemeral_job(resource_defs={}, input_values={})
    if not run_config and ephemeral.partitioned_config and partition_key:
        run_config = ephemeral.partitioned_config.get_run_config_for_partition_key(partition_key)
    run_tags = merge_run_tags(
        job_def=job,
        partition_key=partition_key,
        tags=tags,
        asset_selection=[],
        instance=instance,
        run_config=run_config,
    )
    wrapped = InMemoryJob(job_def=ephemeral)
    plan = create_execution_plan(wrapped, run_config=run_config, instance_ref=instance.get_ref())
    remote_origin, python_origin = location.job_origins(job.name)
    run = instance.create_run_for_job(
        job_def=ephemeral,
        run_config=run_config,
        tags={**ephemeral.run_tags, **run_tags},
        execution_plan=plan,
        remote_job_origin=remote_origin,
        job_code_origin=python_origin,
    )
    events = list(
        ExecuteRunWithPlanIterable(
            execution_plan=plan,
            iterator=job_execution_iterator,
            execution_context_manager=PlanOrchestrationContextManager(
                context_event_generator=orchestration_context_event_generator,
                job=wrapped,
                execution_plan=plan,
                dagster_run=run,
                instance=instance,
                run_config=run_config,
                executor_defs=None,
                output_capture=None,
                raise_on_error=False,
            ),
        )
    )
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None  # just created in this instance
    return ExecuteInProcessResult(job_def=ephemeral, event_list=events, dagster_run=finished, output_capture={})
