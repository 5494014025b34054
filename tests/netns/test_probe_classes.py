"""The probe CLI on a real kernel: each fault lands in the class that says where it is.

Every test builds its own Calico-like node (see topology.py), runs the real
`nethealth probe --output json` with the fresh pod as control and the node as host,
and asserts on the JSON document.
"""

from __future__ import annotations

import json

import probe_cli
import topology


def test_healthy_pod_is_healthy_with_no_failures_over_ipv4_and_ipv6(node, tmp_path):
    result = probe_cli.probe(
        node,
        tmp_path,
        targets=[f"v4={topology.SERVER_IP}:{node.port}", f"v6=[{topology.SERVER_IP6}]:{node.port}"],
    )
    assert (result.code, result.klass) == (0, "Healthy")
    for role in ("target", "control", "host"):
        namespace = result.namespace(role)
        assert (namespace["attempts"], namespace["failures"]) == (60, 0)
        assert set(namespace["targets"]) == {"v4", "v6"}
    addresses = {t["name"]: t["addresses"] for t in result.document["targets"]}
    assert addresses == {"v4": [topology.SERVER_IP], "v6": [topology.SERVER_IP6]}


def test_attempts_are_pinned_round_robin_over_the_cpus(node, tmp_path):
    result = probe_cli.probe(node, tmp_path, attempts=20)
    cpus = result.namespace("target")["cpus"]
    counts = sorted(c["attempts"] for c in cpus.values())
    assert sum(counts) == 20
    assert counts[-1] - counts[0] <= 1, cpus


def test_broadcast_entry_in_the_pods_local_table_is_pod_namespace_with_a_broadcast_hint(
    node, tmp_path
):
    node.add_pod_broadcast_route()
    result = probe_cli.probe(node, tmp_path)
    assert (result.code, result.klass) == (1, "PodNamespace")
    assert result.namespace("target")["errnos"] == {"ENETUNREACH": 30}
    assert result.namespace("control")["failures"] == 0
    assert result.namespace("host")["failures"] == 0
    assert result.hint_codes()[0] == "LocalTableBroadcastEntry"
    assert (
        f"broadcast route {topology.SERVER_IP}"
        in result.hint("LocalTableBroadcastEntry")["evidence"]
    )


def test_listener_down_is_upstream_with_connection_refused(node, tmp_path):
    node.stop_listener()
    result = probe_cli.probe(node, tmp_path)
    assert (result.code, result.klass) == (1, "Upstream")
    for role in ("target", "control", "host"):
        assert result.namespace(role)["errnos"] == {"ECONNREFUSED": 30}
    assert "PathRefused" in result.hint_codes()


def test_fault_in_the_node_namespace_is_node_network(node, tmp_path):
    node.add_node_forward_fault()
    result = probe_cli.probe(node, tmp_path)
    assert (result.code, result.klass) == (1, "NodeNetwork")
    assert result.namespace("target")["failures"] == 30
    assert result.namespace("control")["failures"] == 30
    assert result.namespace("host")["failures"] == 0


def test_termination_log_holds_the_compact_result_within_4096_bytes(node, tmp_path):
    node.add_pod_rule_unreachable()
    result = probe_cli.probe(
        node,
        tmp_path,
        targets=[f"t{i}={topology.SERVER_IP}:{node.port}" for i in range(12)],
        attempts=10,
        spread=1.0,
    )
    assert result.termination_log is not None
    assert len(result.termination_log.encode()) <= 4096
    compact = json.loads(result.termination_log)
    assert compact["class"] == result.klass == "PodNamespace"
    assert compact["schema"] == result.document["schema"]
