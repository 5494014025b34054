"""`nethealth cure` on the real kernel: the route in the right namespace, idempotent, ours only.

The pod is found by UID through a kubelet-style cgroup, exactly as the cure Job finds it.
(That the route stops the kernel bug is the kernel tier's: ``tests/kernel``.)
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid

import probe_cli
import topology

OURS = "255.255.255.255 dev eth0 proto 110 scope link"


def _pod(node):
    uid = str(uuid.uuid4())
    node.start_in_pod_cgroup(
        ns=node.pod, pod_uid=uid, container_id=secrets.token_hex(32), argv=["sleep", "300"]
    )
    return uid


def _cure(*args):
    done = subprocess.run(
        [probe_cli.NETHEALTH, "cure", *args, "--termination-log", ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def _broadcast_routes(node, ns):
    shown = node.ip(ns, "-4", "route", "show", "table", "main", "255.255.255.255/32").stdout
    return [" ".join(line.split()) for line in shown.splitlines() if line.strip()]


def test_the_route_is_added_in_the_pods_namespace_only_and_a_second_run_changes_nothing(node):
    uid = _pod(node)
    code, document, stderr = _cure("--pod-uid", uid)
    assert code == 0, stderr
    assert document["result"] == "added"
    assert document["route"] == "255.255.255.255/32 dev eth0 scope link proto 110"
    assert document["podUid"] == uid
    assert _broadcast_routes(node, node.pod) == [OURS]
    for other in (node.fresh, node.node, node.server):
        assert _broadcast_routes(node, other) == []
    code, document, _ = _cure("--pod-uid", uid)
    assert (code, document["result"]) == (0, "present")
    assert _broadcast_routes(node, node.pod) == [OURS]


def test_with_the_route_broadcasts_leave_through_eth0_and_unicast_still_connects(node, tmp_path):
    uid = _pod(node)
    assert _cure("--pod-uid", uid)[0] == 0
    got = node.ip(node.pod, "-4", "route", "get", "255.255.255.255").stdout
    assert "dev eth0" in got
    assert "broadcast" in got.split()[0]
    result = probe_cli.probe(node, tmp_path, where=["--pod-uid", uid])
    assert (result.code, result.klass) == (0, "Healthy")


def test_remove_deletes_only_our_route_and_is_idempotent(node):
    uid = _pod(node)
    assert _cure("--pod-uid", uid)[0] == 0
    code, document, _ = _cure("--pod-uid", uid, "--action", "remove")
    assert (code, document["result"]) == (0, "removed")
    assert _broadcast_routes(node, node.pod) == []
    code, document, _ = _cure("--pod-uid", uid, "--action", "remove")
    assert (code, document["result"]) == (0, "absent")


def test_a_pods_own_route_for_the_broadcast_address_is_never_touched(node):
    uid = _pod(node)
    node.ip(node.pod, "route", "add", "255.255.255.255/32", "dev", "eth0", "proto", "static")
    theirs = _broadcast_routes(node, node.pod)
    code, document, _ = _cure("--pod-uid", uid)
    assert (code, document["result"]) == (0, "foreign")
    assert _broadcast_routes(node, node.pod) == theirs
    code, document, _ = _cure("--pod-uid", uid, "--action", "remove")
    assert (code, document["result"]) == (0, "absent")
    assert _broadcast_routes(node, node.pod) == theirs


def test_a_pod_without_ipv4_on_its_device_is_refused_and_nothing_is_added(node):
    uid = _pod(node)
    node.ip(node.pod, "-4", "route", "flush", "table", "main")
    node.ip(node.pod, "-4", "addr", "flush", "dev", "eth0")
    code, document, _ = _cure("--pod-uid", uid)
    assert code == 1
    assert "no IPv4 address" in document["error"]
    assert _broadcast_routes(node, node.pod) == []


def test_an_unknown_pod_fails_clearly_and_a_malformed_uid_is_a_usage_error(node):
    code, document, _ = _cure("--pod-uid", str(uuid.uuid4()))
    assert code == 1
    assert "no process of pod" in document["error"]
    code, document, _ = _cure("--pod-uid", "not-a-uid")
    assert code == 64
    assert "--pod-uid" in document["error"]
    assert _broadcast_routes(node, node.pod) == []


def test_the_namespace_held_is_changed_even_when_the_process_is_gone(node):
    """The change goes through the descriptor opened once, never through /proc/<pid> again:
    the same mechanics as ``--netns``, here given the path of a namespace file."""
    code, document, _ = _cure("--netns", topology.Topology.path(node.pod))
    assert (code, document["result"]) == (0, "added")
    assert _broadcast_routes(node, node.pod) == [OURS]
