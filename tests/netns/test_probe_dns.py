"""Names resolved the way the pod resolves them, on a real kernel.

The pod's processes see a resolv.conf of their own (``ip netns exec`` mounts
/etc/netns/<pod>/resolv.conf over /etc/resolv.conf, as a container's runtime mounts the
kubelet's file); the probe runs in the fresh pod's namespace with that pod's resolv.conf
(its "own resolver"), and a nameserver of ours on the server answers web.test in both
families.
"""

from __future__ import annotations

import secrets
import uuid

import probe_cli
import pytest
import topology

NAME = "web.test"
DEAD_NAMESERVER = "198.18.0.53"  # routed to the server, which drops it: no answer


@pytest.fixture
def dns_node(bare_node):
    node = bare_node
    node.start_listener()
    node.start_dns_server({NAME: (topology.SERVER_IP, topology.SERVER_IP6)})
    node.resolv_conf(node.fresh, f"nameserver {topology.SERVER_IP}\noptions timeout:1\n")
    return node


def _pod(node, resolv_conf: str) -> str:
    node.resolv_conf(node.pod, resolv_conf)
    uid = str(uuid.uuid4())
    node.start_in_pod_cgroup(
        ns=node.pod, pod_uid=uid, container_id=secrets.token_hex(32), argv=["sleep", "300"]
    )
    return uid


def _probe(node, tmp_path, uid: str) -> probe_cli.Result:
    argv = probe_cli.argv_for(
        node,
        where=["--pod-uid", uid],
        targets=[f"web={NAME}:{node.port}", f"api={topology.SERVER_IP}:{node.port}"],
        attempts=20,
        spread=1.0,
        termination_log=tmp_path / "termination-log",
        extra=["--dns-name", NAME, "--windows", "1"],
    )
    return probe_cli.run(argv, prefix=["ip", "netns", "exec", node.fresh])


def test_a_name_the_pod_resolves_is_measured_in_both_families(dns_node, tmp_path):
    node = dns_node
    uid = _pod(node, f"nameserver {topology.SERVER_IP}\nsearch test\noptions ndots:2\n")
    result = _probe(node, tmp_path, uid)
    assert result.klass == "Healthy", result.document["reason"]
    web = next(e for e in result.document["dns"] if e["target"] == "web")
    assert web["status"] == "ok"
    assert web["addresses"] == [topology.SERVER_IP, topology.SERVER_IP6]
    assert web["tried"] == [f"{NAME}.test", NAME]  # one dot < ndots 2: the search list first
    (target,) = [t for t in result.document["targets"] if t["name"] == "web"]
    assert target["addresses"] == sorted([topology.SERVER_IP, topology.SERVER_IP6])
    judged = {j["target"]: j for j in result.document["judged"]}
    assert judged["web"]["attempts"] == 40  # 20 per family
    resolver = result.document["probe"]["resolver"]
    assert resolver["source"].endswith("/root/etc/resolv.conf")
    assert resolver["nameservers"] == [topology.SERVER_IP]


def test_a_pod_whose_resolver_is_dead_gets_a_dns_hint_while_the_probes_own_works(
    dns_node, tmp_path
):
    node = dns_node
    uid = _pod(node, f"nameserver {DEAD_NAMESERVER}\nsearch test\noptions timeout:1 attempts:1\n")
    result = _probe(node, tmp_path, uid)
    web = next(e for e in result.document["dns"] if e["target"] == "web")
    assert (web["status"], web["control"], web["host"], web["own"]) == (
        "timeout",
        "timeout",
        "timeout",
        "ok",
    )
    hint = result.hint("DnsTimeout")
    assert f"nameservers {DEAD_NAMESERVER}" in hint["evidence"]
    assert f"the probe's own resolver (nameserver {topology.SERVER_IP}): " in hint["evidence"]
    assert result.hint_codes()[0] == "DnsTimeout"
    # The name's target is not measured and says why; the other target is, and is fine.
    judged = {j["target"]: j for j in result.document["judged"]}
    assert (judged["web"]["class"], judged["web"]["attempts"]) == ("Inconclusive", 0)
    assert (judged["api"]["class"], judged["api"]["failures"]) == ("Healthy", 0)
    assert result.document["class"] != "Inconclusive"
