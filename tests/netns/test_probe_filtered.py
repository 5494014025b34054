"""A policy that filters only the pod's traffic, on a real kernel: the probe calls it
Filtered, not PodNamespace, so the operator never moves the pod around it.

The node namespace drops (or refuses) what it forwards from the pod's address only, as a
NetworkPolicy selecting the pod does on a real node; the probe's fresh pod, which no
application policy selects, gets through.
"""

from __future__ import annotations

import probe_cli
import pytest
import topology


@pytest.mark.parametrize(
    ("action", "errnos"),
    # The node answers a prohibited packet with ICMP, rate-limited: some connects time out.
    [("blackhole", {"ETIMEDOUT"}), ("prohibit", {"EHOSTUNREACH", "ETIMEDOUT"})],
    ids=["dropped", "refused-by-the-path"],
)
def test_traffic_filtered_beyond_the_pods_namespace_is_filtered(node, tmp_path, action, errnos):
    node.ip(
        node.node, "-4", "rule", "add", "pref", "90",
        "from", topology.POD_IP, "to", topology.SERVER_SUBNET, action,
    )  # fmt: skip
    try:
        result = probe_cli.probe(node, tmp_path, attempts=10, spread=1.0)
    finally:
        node.ip(node.node, "-4", "rule", "del", "pref", "90", check=False)
    assert (result.code, result.klass) == (1, "Filtered"), result.document["reason"]
    assert set(result.namespace("target")["errnos"]) <= errnos
    assert result.namespace("control")["failures"] == 0
    assert result.hint_codes()[0] == "PodTrafficFiltered"
    assert "filtered" in result.document["reason"]


def test_a_refusal_in_the_pods_own_namespace_stays_pod_namespace(node, tmp_path):
    node.add_pod_rule_unreachable()
    try:
        result = probe_cli.probe(node, tmp_path, attempts=10, spread=1.0)
    finally:
        node.del_pod_rule_unreachable()
    assert (result.code, result.klass) == (1, "PodNamespace")
