"""Two harnesses never run or remove the same node at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from nethealth.devcluster import cleanup, errors, layout, node

HOLD = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.write("4242\\n"); handle.flush()
print("held", flush=True)
time.sleep(60)
"""


def test_down_refuses_while_another_harness_holds_the_node_and_names_it(tmp_path):
    run = layout.RunLayout(root=tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run.lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(errors.Busy, match="pid 4242"):
            node.down(run_dir=run.root)
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_down_of_a_directory_that_never_held_a_node_touches_nothing(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "precious").write_text("keep me")

    report = node.down(run_dir=tmp_path / "run")

    assert report == cleanup.TeardownReport()
    assert (tmp_path / "run" / "precious").read_text() == "keep me"
