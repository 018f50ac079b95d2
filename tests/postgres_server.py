"""A throwaway PostgreSQL server on 127.0.0.1 for tests: Debian's `postgresql` binaries, installed when missing.

PostgreSQL refuses to run as root, so as root the cluster is created and run as the `postgres` user (created by
the Debian package). The data folder lives under the test's temporary directory and is removed with it.

A throwaway cluster needs no durability: initdb without syncing and the server without fsync, synchronous commits
or full-page writes. A commit then takes about 1 ms instead of 7 ms on these machines, and the daemon test commits
about 11,500 times (Dagster's event log, runs and ticks).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def ensure_postgres_installed() -> Path:
    """The server binaries' folder; installs Debian's `postgresql` first on a fresh machine (needs root)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.geteuid() != 0:
            raise RuntimeError("PostgreSQL is not installed and this is not root: apt-get install postgresql")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
            check=True,
            env=env,
            capture_output=True,
            timeout=900,
        )
        bin_dir = _bin_dir()
    assert bin_dir is not None
    return bin_dir


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """Start a fresh cluster on a free port; yield its URL (trust auth, database `dagster`); stop it after."""
    bin_dir = ensure_postgres_installed()
    data = workdir / "pgdata"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = data / "server.log"
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dagster"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/dagster"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=120,
        )
        time.sleep(0.1)
