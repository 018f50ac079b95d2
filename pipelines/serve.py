"""`make serve`: one code server, then dagster-daemon and dagster-webserver on 127.0.0.1, stopped together.

The daemon and the webserver reach the code location through one `dagster api grpc` server (a workspace of one
`grpc_server` entry). With workspace.yaml's `python_module` entry each starts a code server of its own, and the
daemon drops and restarts its own every 60 s (Dagster's RELOAD_WORKSPACE_INTERVAL): a whole code-location load,
~5-15 CPU s, around the clock. Code changes need a restart (`make ui` reloads them). The daemon tests start the
same three processes through `serving` (tests/e2e/dagster_services.py).

Each process runs in a session of its own, so stopping takes its whole group (the run processes the daemon
launched included): SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from resources.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
GRACE_S = 30.0
CODE_PORT = 4266
CODE_SERVER_WORKSPACE = """load_from:
  - grpc_server:
      host: 127.0.0.1
      port: {port}
      location_name: nexus
"""


def group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid` (zombies excluded), read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def stop_groups(pgids: Sequence[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM every process group at once, then SIGKILL whatever is left after `grace_s` (a `dagster api grpc`
    code server the daemon started outlives a SIGTERM to the daemon alone). At once: stopping the webserver, the
    daemon and the code server one after the other made Ctrl-C wait for the sum of their shutdowns."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        for pgid in pgids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        deadline = time.time() + wait_s
        while any(group_members(pgid) for pgid in pgids) and time.time() < deadline:
            time.sleep(0.2)
        if not any(group_members(pgid) for pgid in pgids):
            return


@contextmanager
def process_groups(
    commands: Sequence[Sequence[str]],
    env: Mapping[str, str],
    outputs: Sequence[int | IO[str] | None],
    grace_s: float = GRACE_S,
) -> Iterator[list[subprocess.Popen]]:
    """Each command in its own session (so its process group holds everything it spawns), stopped as a group."""
    procs: list[subprocess.Popen] = []
    try:
        for command, output in zip(commands, outputs, strict=True):
            procs.append(
                subprocess.Popen(
                    list(command), cwd=PROJECT_ROOT, env=dict(env), stdout=output, stderr=output, start_new_session=True
                )
            )
        yield procs
    finally:
        stop_groups([proc.pid for proc in procs], grace_s)
        for proc in procs:
            proc.wait(timeout=10)


def code_server_answers(port: int) -> bool:
    """Does the code server on `port` of 127.0.0.1 answer a ping yet?"""
    from dagster._grpc.client import DagsterGrpcClient  # Dagster's own client of its code servers

    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").ping("")
        return True
    except Exception:  # not listening yet: any failure to connect means "not yet"
        return False


@contextmanager
def serving(
    env: Mapping[str, str],
    port: int,
    code_port: int,
    workspace_dir: Path,
    output: IO[str] | None = None,
    webserver_output: int | IO[str] | None = None,
    startup_s: float = 600,
) -> Iterator[list[subprocess.Popen]]:
    """The code server on `code_port`, waited for until it answers, then the daemon and the webserver on `port`,
    both through a workspace written to `workspace_dir`; all with `env`, writing to `output` (None: this
    process's own), the webserver to `webserver_output`. Yields the three processes; on exit each group stops."""
    workspace = workspace_dir / "serve_workspace.yaml"
    workspace.write_text(CODE_SERVER_WORKSPACE.format(port=code_port))
    server = [str(BIN / "dagster"), "api", "grpc", "-m", "pipelines.definitions", "-a", "defs"]
    commands = [
        [*server, "-h", "127.0.0.1", "-p", str(code_port), "--location-name", "nexus"],
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
    ]
    with process_groups(commands[:1], env, [output]) as code_server:
        deadline = time.time() + startup_s
        while not code_server_answers(code_port):
            if code_server[0].poll() is not None:
                raise RuntimeError("the code server exited while loading the code location (its output above)")
            if time.time() > deadline:
                raise TimeoutError(f"the code server did not answer within {startup_s:.0f} s")
            time.sleep(1)
        with process_groups(commands[1:], env, [output, webserver_output]) as procs:
            yield [*code_server, *procs]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000, help="the webserver's port on 127.0.0.1")
    parser.add_argument("--code-port", type=int, default=CODE_PORT, help="the code server's port on 127.0.0.1")
    args = parser.parse_args(argv)
    # Ctrl-C, a closed terminal or a service manager's SIGTERM all stop the three processes (each runs in a session
    # of its own, so no signal reaches them but these); set here because a shell's background job inherits SIGINT
    # ignored, and an unhandled SIGTERM would leave them running.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    home = Path(os.environ.get("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home"))
    print(f"starting the code server on 127.0.0.1:{args.code_port} (loading the code location)", flush=True)
    try:
        with serving(os.environ, args.port, args.code_port, home) as procs:
            print(f"Dagster UI on http://127.0.0.1:{args.port}; Ctrl-C stops the daemon and the servers", flush=True)
            while all(proc.poll() is None for proc in procs):
                time.sleep(1)
            print("a Dagster process exited; stopping the others", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
