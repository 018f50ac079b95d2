"""`make serve` as an operator runs it: one code server, the daemon and the webserver on 127.0.0.1, the code
location loaded once and shared, and Ctrl-C stops all three (pipelines/serve.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from resources.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.e2e.early_runs import shell_env

pytestmark = pytest.mark.slow
LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def _processes() -> dict[int, tuple[int, str]]:
    """Live processes: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if args:
            found[int(entry.name)] = (parent, args)
    return found


def _processes_naming(*fragments: str) -> list[str]:
    """Command lines of live processes that contain every fragment."""
    return [args for _, args in _processes().values() if all(fragment in args for fragment in fragments)]


def test_make_serve_shares_one_code_server_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port, code_port, home = free_port(), free_port(), tmp_path / "dagster_home"
    env = shell_env(tmp_path)
    command = ["make", "serve", f"SERVE_PORT={port}", f"CODE_PORT={code_port}", f"DAGSTER_HOME={home}"]
    log = (tmp_path / "serve.txt").open("w")
    make = subprocess.Popen(  # as `make serve &` from a script: SIGINT ignored, which its children inherit
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline, entries = time.time() + 300, []
        while time.time() < deadline and make.poll() is None:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": LOCATIONS}, timeout=30)
                entries = answer.json()["data"]["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["loadStatus"] == "LOADED":
                    break
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            time.sleep(2)
        assert entries == [{"name": "nexus", "loadStatus": "LOADED"}], (tmp_path / "serve.txt").read_text()[-3000:]
        # the daemon and the webserver reach the one code server: neither started one of its own
        assert len(_processes_naming("dagster", "api grpc", f"-p {code_port}")) == 1
        processes = _processes()
        daemons = [pid for pid, (_, args) in processes.items() if f"run -w {home / 'serve_workspace.yaml'}" in args]
        assert len(daemons) == 1, processes
        assert not [args for parent, args in processes.values() if parent == daemons[0] and "api grpc" in args]
        assert (home / "dagster.yaml").exists()
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in the operator's terminal: make and pipelines.serve
        stopping = time.time()
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(timeout=120)
        log.close()
    assert make.returncode is not None, "make serve ignored Ctrl-C"
    assert time.time() - stopping < 60, f"Ctrl-C took {time.time() - stopping:.0f} s"
    deadline = time.time() + 60
    while time.time() < deadline and (
        _processes_naming(f"-p {code_port}") or _processes_naming(f"-p {port}") or _processes_naming(str(home))
    ):
        time.sleep(0.5)
    assert not _processes_naming(f"-p {code_port}"), "the code server outlived Ctrl-C"
    assert not _processes_naming(f"-p {port}"), "the webserver outlived Ctrl-C"
    assert not _processes_naming(str(home / "serve_workspace.yaml")), "the daemon outlived Ctrl-C"
