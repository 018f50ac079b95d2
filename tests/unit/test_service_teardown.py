"""The services a test starts leave nothing behind: children that ignore SIGTERM are killed with their group."""

import os
import sys
import time

from pipelines.serve import group_members, process_groups

# A parent that spawns a child ignoring SIGTERM (like the daemon's `dagster api grpc` code server) and waits.
SPAWNER = """
import signal, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "print('child', flush=True); time.sleep(600)"])
time.sleep(600)
"""


def test_a_child_that_ignores_sigterm_does_not_survive_the_teardown(tmp_path):
    log = (tmp_path / "out.log").open("w")
    with process_groups([[sys.executable, "-c", SPAWNER]], dict(os.environ), [log], grace_s=1.0) as procs:
        pgid = procs[0].pid
        deadline = time.time() + 60
        while "child" not in (tmp_path / "out.log").read_text() and time.time() < deadline:
            time.sleep(0.1)  # the child prints once it ignores SIGTERM
        assert len(group_members(pgid)) == 2, "the spawner and its child run in the spawner's own group"
        assert os.getpgid(0) != pgid
    assert group_members(pgid) == [], "a process of the group survived the teardown"
    assert procs[0].returncode is not None
