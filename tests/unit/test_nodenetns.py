"""The node's namespace is found through the pod's runtime: the namespace of the target
process's parent (its shim), checked on a real /proc layout the test writes."""

from __future__ import annotations

import os

from nethealth.probe import nodenetns


def _process(proc, pid: int, *, parent: int, netns: str) -> None:
    root = proc / str(pid)
    (root / "ns").mkdir(parents=True)
    (root / "status").write_text(f"Name:\tapp\nPid:\t{pid}\nPPid:\t{parent}\n")
    (root / "ns" / "net").write_text("")
    if netns:
        os.link(proc / netns, root / "ns" / "net.tmp")
        os.replace(root / "ns" / "net.tmp", root / "ns" / "net")


def test_the_shims_namespace_is_the_nodes(tmp_path):
    (tmp_path / "node-ns").write_text("")
    (tmp_path / "pod-ns").write_text("")
    _process(tmp_path, 300, parent=1, netns="node-ns")  # the shim, in the node's namespace
    _process(tmp_path, 400, parent=300, netns="pod-ns")  # the app, in the pod's
    assert nodenetns.of_process(400, proc=str(tmp_path)) == f"{tmp_path}/300/ns/net"
    assert nodenetns.resolve("auto", pid=400, proc=str(tmp_path)) == f"{tmp_path}/300/ns/net"


def test_a_parent_in_the_same_namespace_says_nothing_and_pid_1_is_the_fallback(tmp_path):
    (tmp_path / "pod-ns").write_text("")
    _process(tmp_path, 300, parent=1, netns="pod-ns")
    _process(tmp_path, 400, parent=300, netns="pod-ns")
    assert nodenetns.of_process(400, proc=str(tmp_path)) is None
    assert nodenetns.resolve("auto", pid=400, proc=str(tmp_path)) == nodenetns.FALLBACK
    assert nodenetns.resolve("auto", pid=None) == nodenetns.FALLBACK


def test_a_namespace_given_by_hand_is_measured_as_it_is():
    assert nodenetns.resolve("/var/run/netns/node-b", pid=400) == "/var/run/netns/node-b"
