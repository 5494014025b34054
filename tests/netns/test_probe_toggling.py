"""The seed's confusing picture, reproduced with a fault that comes and goes.

A policy rule refusing TCP to the port is added and removed every 3 s in the pod's
namespace: connects fail in blocks, about half of them, only in the target pod, and a
plain route lookup keeps saying unicast. The probe must still name the rule.
"""

from __future__ import annotations

import probe_cli
import topology

PERIOD = 3.0  # on 3 s, off 3 s
SPREAD = 2 * PERIOD  # a whole number of cycles: the duty cycle is 50 % at any phase


def test_policy_rule_toggling_is_classified_pod_namespace(node, tmp_path):
    with node.toggling(
        on=node.add_pod_rule_unreachable, off=node.del_pod_rule_unreachable, period=PERIOD
    ) as toggle:
        result = probe_cli.probe(node, tmp_path, attempts=60, spread=SPREAD)
    assert toggle.error is None
    assert (result.code, result.klass) == (1, "PodNamespace")

    target = result.namespace("target")
    assert abs(target["failureRate"] - 0.5) <= 0.15, target
    assert set(target["errnos"]) == {"ENETUNREACH"}
    assert result.namespace("control")["failures"] == 0
    assert result.namespace("host")["failures"] == 0

    # Failures come in blocks (the rule's on-phases), not scattered.
    blocks = target["blocks"]
    assert 1 <= len(blocks) <= 3, blocks
    assert max(b["failures"] for b in blocks) >= 20, blocks

    rule = result.hint("PolicyRuleUnreachable")
    assert f"dport {node.port} unreachable" in rule["evidence"]
    assert "ip -4 rule del pref 100" in rule["advice"]

    plain = [
        look
        for look in result.document["evidence"]["lookups"]
        if look["kind"] == "plain" and look["address"] == topology.SERVER_IP
    ]
    assert plain
    assert all((look["type"], look["errno"]) == ("unicast", 0) for look in plain), plain
