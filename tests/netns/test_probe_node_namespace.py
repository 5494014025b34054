"""The host column is measured in the pod's node's namespace, found through the pod's
runtime (the target process's parent), not PID 1's: what a node in its own namespace (the
dev cluster, kind) needs, on a real kernel."""

from __future__ import annotations

import subprocess
import time

import probe_cli
import topology


def _pod_process_under_a_node_parent(node: topology.Topology) -> subprocess.Popen[str]:
    """A "shim" in the node's namespace, and under it the pod's application."""
    return subprocess.Popen(
        [
            "nsenter", f"--net={node.node_netns}", "sh", "-c",
            f"nsenter --net={node.pod_netns} sleep 60 & wait",
        ],
        text=True,
    )  # fmt: skip


def _child_of(pid: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if found:
            return int(found[0])
        time.sleep(0.05)
    raise AssertionError(f"no child of {pid}")


def test_the_host_column_is_the_node_the_pods_runtime_runs_in(node, tmp_path):
    shim = _pod_process_under_a_node_parent(node)
    try:
        app = _child_of(shim.pid)
        argv = probe_cli.argv_for(node, where=("--pid", str(app)), attempts=10, spread=1.0)
        at = argv.index("--host-netns")
        del argv[at : at + 2]  # the default: found from the runtime
        result = probe_cli.run(argv)
    finally:
        shim.kill()
        shim.wait()
    assert result.klass == "Healthy", result.document["reason"]
    host = result.namespace("host")
    assert (host["attempts"], host["failures"]) == (10, 0), host  # it reaches the server
    assert result.document["probe"]["options"]["hostNetns"] == "auto"
