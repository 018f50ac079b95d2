"""A key or token a publisher echoes back appears nowhere: stdout, stderr, Dagster's run storage, the lake.

The local server plays EIA and CFTC's Socrata answering with error bodies that quote the credential they
received, in the publishers' error shapes (EIA API v2: `{"error": {"code": .., "message": ..}}` with a 403 for a
bad key; Socrata SODA: `{"code": .., "error": true, "message": ..}`). A 200 answer that echoes the key (EIA
repeats its request parameters in every body) lands in bronze and, not being a data page, in quarantine.
"""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from dagster_shared.serdes import serialize_value

from assets.ingest.eia import eia_weekly_ingest
from assets.partitions import configured_partitions, partition_key_for
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.resource import LakeResource
from resources.lake.storage import LakeStorage
from resources.settings import PROJECT_ROOT, get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher

EIA_KEY = "eiaLiveKeyQ7w3x9-0123456789abcdef"
CFTC_TOKEN = "cftcAppTokenZ4k8m2-fedcba987654"
AS_OF = date(2024, 6, 28)
NEXUS = str(Path(sys.executable).with_name("nexus"))


def _cli_env(**extra: str) -> dict[str, str]:
    """This checkout's code for the `nexus` subprocess, whatever checkout the venv's editable install names."""
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **extra}


def _plan() -> FaultPlan:
    eia_refusal = {"error": {"code": "API_KEY_INVALID", "message": f"An invalid api_key was supplied: {EIA_KEY}"}}
    eia_echo = {
        "response": {"warnings": [{"warning": "incomplete return", "description": "try again"}]},
        "request": {"command": "/v2/natural-gas/stor/wkly/data/", "params": {"api_key": EIA_KEY}},
        "apiVersion": "2.1.8",
    }
    socrata = {"code": "permission_denied", "error": True, "message": f"Invalid app_token specified: {CFTC_TOKEN}"}
    return FaultPlan(
        [
            Fault("status", "/v2/petroleum/sum/sndw", times=1, status=403, body=json.dumps(eia_refusal).encode()),
            Fault("body", "/v2/", times=99, body=json.dumps(eia_echo).encode()),
            Fault("status", "/resource/", times=99, status=403, body=json.dumps(socrata).encode()),
        ]
    )


def _live_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
    monkeypatch.setenv("NEXUS_EIA_BASE_URL", f"{url}/v2")
    monkeypatch.setenv("NEXUS_CFTC_BASE_URL", url)
    monkeypatch.setenv("NEXUS_START_DATE", "2024-05-01")
    monkeypatch.setenv("NEXUS_END_DATE", AS_OF.isoformat())
    monkeypatch.setenv("EIA_API_KEY", EIA_KEY)
    monkeypatch.setenv("CFTC_APP_TOKEN", CFTC_TOKEN)


def _lake_text(storage: LakeStorage) -> str:
    """Every stored byte a secret could hide in: manifest, quarantine and the bronze payloads themselves."""
    manifest = read_table(storage, MANIFEST)
    payloads = b"".join(read_payload(storage, sha) for sha in manifest.column("sha256").to_pylist())
    return str(manifest.to_pylist()) + str(read_table(storage, QUARANTINE).to_pylist()) + payloads.decode("latin-1")


@pytest.mark.slow
def test_an_echoed_key_appears_nowhere(monkeypatch, capfd):
    with serve_publisher(SimulatedPublisher(7, AS_OF), _plan()) as url:
        _live_env(monkeypatch, url)
        with DagsterInstance.ephemeral() as instance:  # meets the 403 that quotes the key
            result = materialize(
                [eia_weekly_ingest],
                partition_key=partition_key_for(AS_OF, "weekly", configured_partitions(get_settings())["weekly"]),
                resources={
                    "lake": LakeResource.from_settings(get_settings()),
                    "settings": SettingsResource.from_settings(get_settings()),
                },
                instance=instance,
                raise_on_error=False,
            )
            events = instance.all_logs(result.run_id)
        # then the 200 that echoes it (EIA) and Socrata's 403 that quotes the token
        cli = [
            subprocess.run([NEXUS, "ingest", s], capture_output=True, text=True, timeout=300, env=_cli_env())
            for s in ("eia", "cot")
        ]
    shown = capfd.readouterr()
    storage = LakeStorage.from_settings(get_settings())

    assert [c.returncode for c in cli] == [2, 2]
    assert "response does not match API v2" in cli[0].stdout and "invalid api_key was supplied: ***" in shown.err
    assert "HTTP 403" in cli[1].stdout and "Invalid app_token specified: ***" in cli[1].stdout
    assert not result.success and len(events) > 3
    run_storage = "\n".join(serialize_value(e) for e in events)
    assert "API_KEY_INVALID" in run_storage  # the refusal is there, redacted
    lake = _lake_text(storage)
    assert '"api_key": "***"' in lake and read_table(storage, QUARANTINE).num_rows >= 1
    for secret in (EIA_KEY, CFTC_TOKEN):
        for where, text in {
            "cli stdout": cli[0].stdout + cli[1].stdout,
            "cli stderr": cli[0].stderr + cli[1].stderr,
            "in-process stdout/stderr": shown.out + shown.err,
            "Dagster run storage": run_storage,
            "lake": lake,
        }.items():
            assert secret not in text, f"{secret[:8]}... leaked to {where}"


@pytest.mark.parametrize("command", [["ingest", "fred"], ["ingest", "eia"], ["run"]])
def test_a_missing_live_key_is_one_clear_line(monkeypatch, command):
    env = _cli_env(NEXUS_SOURCE_MODE="live", NEXUS_START_DATE="2024-06-01", NEXUS_END_DATE="2024-06-28")
    env = {k: v for k, v in env.items() if k not in ("FRED_API_KEY", "EIA_API_KEY")}
    done = subprocess.run([NEXUS, *command], capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2
    assert len(lines) == 1 and "Traceback" not in lines[0] and "ConfigError" not in lines[0]
    needed = {"fred": ["FRED_API_KEY"], "eia": ["EIA_API_KEY"]}.get(command[-1], ["FRED_API_KEY", "EIA_API_KEY"])
    assert all(name in lines[0] for name in needed) and lines[0].startswith("error: live mode needs an API key")
