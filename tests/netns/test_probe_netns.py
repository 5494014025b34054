"""Entering a namespace happens in a child: the caller's namespace, fds and children stay."""

from __future__ import annotations

import os
import socket
import time

import pytest

from nethealth.probe import netns


def _interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def _own_netns() -> str:
    return os.readlink("/proc/self/ns/net")


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.add(int(pid))
    return found


def _slow() -> None:
    time.sleep(30)


def _fail() -> None:
    raise RuntimeError("refused in there")


def _crash() -> None:
    os.kill(os.getpid(), 9)


def test_the_function_sees_the_other_namespace_and_the_caller_stays_put(node):
    before = (_own_netns(), sorted(os.listdir("/proc/self/fd")), _children())
    inside = netns.run_in(node.pod_netns, _interfaces)
    assert inside == ["eth0", "lo"]
    assert (_own_netns(), sorted(os.listdir("/proc/self/fd")), _children()) == before


def test_several_namespaces_run_at_once_and_answer_separately(node):
    children = [netns.spawn(path, _interfaces) for path in (node.pod_netns, node.node_netns)]
    assert [c.wait(10) for c in children] == [
        ["eth0", "lo"],
        ["cali-fresh", "cali-pod", "lo", "uplink"],
    ]


@pytest.mark.parametrize(
    ("func", "complaint"),
    [
        (_slow, "timed out in network namespace"),
        (_fail, "RuntimeError: refused in there"),
        (_crash, "crashed \\(SIGKILL\\)"),
    ],
)
def test_failures_come_back_as_errors_and_leave_nothing_behind(node, func, complaint):
    before = (sorted(os.listdir("/proc/self/fd")), _children())
    started = time.monotonic()
    with pytest.raises(netns.NetnsError, match=complaint):
        netns.run_in(node.pod_netns, func, timeout=1.0)
    assert time.monotonic() - started < 5
    assert (sorted(os.listdir("/proc/self/fd")), _children()) == before


def test_a_missing_namespace_is_named(node):
    with pytest.raises(netns.NetnsError, match=f"no such network namespace: {node.pod_netns}-gone"):
        netns.run_in(f"{node.pod_netns}-gone", _interfaces)


def test_a_file_that_is_not_a_namespace_is_named(tmp_path):
    path = tmp_path / "plain"
    path.write_text("")
    with pytest.raises(netns.NetnsError, match=f"not a network namespace: {path}"):
        netns.run_in(str(path), _interfaces)
