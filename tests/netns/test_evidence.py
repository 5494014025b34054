"""Evidence gathered by netlink and /proc inside a real pod namespace shows each fault."""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import sys

import topology

from nethealth.probe import classify, counters, evidence, kernels, lookups, netns, types

SSDP_SENDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 1900))
group = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton("0.0.0.0"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
print("ready", flush=True)
sys.stdin.read()
"""


def endpoints(node: topology.Topology) -> list[types.Endpoint]:
    return [
        types.Endpoint(name="srv", address=topology.SERVER_IP, port=node.port),
        types.Endpoint(name="srv6", address=topology.SERVER_IP6, port=node.port),
    ]


def connects(address: str, port: int, count: int) -> list[int]:
    """Non-blocking connects from the current namespace; the errno of each (0 = started)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    codes = []
    for _ in range(count):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setblocking(False)
            code = s.connect_ex((address, port))
            codes.append(0 if code == errno.EINPROGRESS else code)
    return codes


def gather(node: topology.Topology, before: dict[str, int] | None = None) -> types.Evidence:
    before = before if before is not None else netns.run_in(node.pod_netns, counters.snapshot)
    found = netns.run_in(node.pod_netns, evidence.gather, endpoints(node), before, timeout=30)
    return types.Evidence.from_dict(found)


def measurement_of(codes: list[int], *, role: types.Role = types.Role.TARGET) -> types.Measurement:
    made = tuple(
        types.Attempt(
            target="srv",
            address=topology.SERVER_IP,
            at=i * 0.1,
            cpu=0,
            immediate_errno=code,
            final_errno=code,
            duration=0.0,
        )
        for i, code in enumerate(codes)
    )
    return types.Measurement(role=role, netns=f"/run/netns/{role.value}", attempts=made)


def of(found: types.Evidence, *, address: str, kind: str) -> list[types.RouteLookup]:
    return [look for look in found.lookups if look.address == address and look.kind == kind]


def test_healthy_pod_looks_healthy_on_every_cpu(node):
    found = gather(node)
    cpus = sorted(os.sched_getaffinity(0))
    assert found.cpus == tuple(cpus)
    assert len(found.lookups) == len(cpus) * 2 * 3  # CPUs x endpoints x (plain, flow, fib)
    for look in found.lookups:
        assert (look.type, look.errno) == ("unicast", 0), look
    assert {look.cpu for look in found.lookups} == set(cpus)
    assert of(found, address=topology.SERVER_IP, kind="plain")[0].gateway == topology.GATEWAY
    assert of(found, address=topology.SERVER_IP, kind="plain")[0].dev == "eth0"
    assert found.rules == ()
    defaults = {(r.family, r.gateway) for r in found.routes if r.dst == "default"}
    assert defaults == {(socket.AF_INET, topology.GATEWAY), (socket.AF_INET6, topology.GATEWAY6)}
    assert found.errors == ()
    assert found.kernel_release == os.uname().release


def test_tcp_unreachable_rule_is_listed_and_only_the_flow_key_lookup_fails(node):
    node.add_pod_rule_unreachable()
    found = gather(node)
    rule = next(r for r in found.rules if r.family == socket.AF_INET)
    assert rule.action == "unreachable"
    assert rule.text == f"pref 100 ipproto 6 dport {node.port} unreachable"
    for address in (topology.SERVER_IP, topology.SERVER_IP6):
        assert {x.type for x in of(found, address=address, kind="plain")} == {"unicast"}
        assert {x.errno for x in of(found, address=address, kind="flow")} == {errno.ENETUNREACH}
        assert {x.type for x in of(found, address=address, kind="fib_match")} == {"unicast"}


def test_out_no_routes_rises_with_connects_refused_by_the_rule(node):
    before = netns.run_in(node.pod_netns, counters.snapshot)
    node.add_pod_rule_unreachable()
    codes = netns.run_in(node.pod_netns, connects, topology.SERVER_IP, node.port, 7)
    assert codes == [errno.ENETUNREACH] * 7
    found = gather(node, before)
    assert found.counters["IpOutNoRoutes"] == 7
    assert found.counters["Ip6OutNoRoutes"] == 0


def test_rule_evidence_and_real_failures_classify_as_the_rule(node):
    before = netns.run_in(node.pod_netns, counters.snapshot)
    node.add_pod_rule_unreachable()
    failed = netns.run_in(node.pod_netns, connects, topology.SERVER_IP, node.port, 20)
    worked = netns.run_in(node.fresh_netns, connects, topology.SERVER_IP, node.port, 20)
    verdict = classify.classify(
        measurements=[measurement_of(failed), measurement_of(worked, role=types.Role.CONTROL)],
        evidence=gather(node, before),
        kernel=None,
    )
    assert verdict.klass == types.ProbeClass.POD_NAMESPACE
    assert verdict.hints[0].code == "PolicyRuleUnreachable"
    assert f"dport {node.port}" in verdict.hints[0].evidence


def test_broadcast_entry_in_the_local_table_shows_as_a_local_brd_route(node):
    node.add_pod_broadcast_route()
    found = gather(node)
    for look in of(found, address=topology.SERVER_IP, kind="plain"):
        assert look.type == "broadcast"
        assert look.flags & types.RTCF_LOCAL
        assert look.flags & types.RTCF_BROADCAST
        assert look.broadcast_flagged
    assert {x.type for x in of(found, address=topology.SERVER_IP, kind="fib_match")} == {
        "broadcast"
    }
    entry = next(r for r in found.routes if r.type == "broadcast")
    assert (entry.table, entry.dst, entry.dev) == (255, f"{topology.SERVER_IP}/32", "eth0")
    codes = netns.run_in(node.pod_netns, connects, topology.SERVER_IP, node.port, 3)
    assert codes == [errno.ENETUNREACH] * 3


def test_removed_default_route_is_missing_and_classified_so(node):
    node.ip(node.pod, "route", "del", "default")
    found = gather(node)
    assert socket.AF_INET not in {r.family for r in found.routes if r.dst == "default"}
    assert {x.errno for x in of(found, address=topology.SERVER_IP, kind="plain")} == {
        errno.ENETUNREACH
    }
    failed = netns.run_in(node.pod_netns, connects, topology.SERVER_IP, node.port, 20)
    worked = netns.run_in(node.fresh_netns, connects, topology.SERVER_IP, node.port, 20)
    verdict = classify.classify(
        measurements=[measurement_of(failed), measurement_of(worked, role=types.Role.CONTROL)],
        evidence=found,
        kernel=None,
    )
    assert verdict.hints[0].code == "MissingDefaultRoute"


def test_ssdp_socket_and_group_show_as_broadcast_senders(node):
    sender = node.start(node.pod, sys.executable, "-c", SSDP_SENDER)
    assert sender.stdout is not None
    assert sender.stdout.readline().strip() == "ready"
    found = gather(node)
    ssdp = [s for s in found.udp_sockets if s.port == 1900]
    assert [(s.family, s.address) for s in ssdp] == [(socket.AF_INET, "0.0.0.0")]
    assert any(owner.startswith(f"{sender.pid}/") for owner in ssdp[0].owners)
    assert (
        types.Membership(family=socket.AF_INET, dev="eth0", group="239.255.255.250")
        in found.memberships
    )
    assert any("SO_BROADCAST" in note for note in found.notes)


def test_gathering_restores_the_cpu_affinity(node):
    def pinned_around_gather() -> list[list[int]]:
        before = sorted(os.sched_getaffinity(0))
        evidence.gather(endpoints(node), {})
        return [before, sorted(os.sched_getaffinity(0))]

    before, after = netns.run_in(node.pod_netns, pinned_around_gather)
    assert before == after


def broadcast_then_look(address: str, port: int) -> dict[str, list]:
    """In the pod: flush the route cache, send an SSDP-like broadcast pinned to the first
    CPU, then look the destination up and connect to it on every CPU."""
    with open("/proc/sys/net/ipv4/route/flush", "w") as f:
        f.write("1")
    allowed = os.sched_getaffinity(0)
    first = min(allowed)
    os.sched_setaffinity(0, {first})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(b"M-SEARCH * HTTP/1.1\r\n\r\n", ("255.255.255.255", 1900))
    os.sched_setaffinity(0, allowed)
    endpoint = types.Endpoint(name="srv", address=address, port=port)
    looked = lookups.on_every_cpu([endpoint], links={})
    results: dict[str, list] = {"lookups": [dataclasses.asdict(x) for x in looked], "connects": []}
    for cpu in sorted(allowed):
        os.sched_setaffinity(0, {cpu})
        results["connects"].append([cpu, connects(address, port, 5)])
    os.sched_setaffinity(0, allowed)
    return results


def test_broadcast_send_poisons_the_route_cache_only_on_an_affected_kernel(node):
    kernel = kernels.assess_running()
    assert kernel.status != types.KernelStatus.UNKNOWN, kernel.detail
    found = netns.run_in(node.pod_netns, broadcast_then_look, topology.SERVER_IP, node.port)
    looked = [types.RouteLookup.from_dict(x) for x in found["lookups"]]
    poisoned = [x for x in looked if x.kind != "fib_match" and x.broadcast_flagged]
    refused = {cpu for cpu, codes in found["connects"] if errno.ENETUNREACH in codes}
    if kernel.status == types.KernelStatus.AFFECTED:
        first = min(os.sched_getaffinity(0))
        assert {x.cpu for x in poisoned} == {first}
        assert refused == {first}
        verdict = classify.classify(
            measurements=[measurement_per_cpu(found["connects"])],
            evidence=types.Evidence(lookups=tuple(looked), counters={"IpOutNoRoutes": 0}),
            kernel=kernel,
        )
        assert verdict.hints[0].code == "KernelBroadcastRouteCache"
    else:
        assert poisoned == []
        assert refused == set()
        assert all(codes == [0] * 5 for _, codes in found["connects"])


def measurement_per_cpu(connected: list[list]) -> types.Measurement:
    made = [
        types.Attempt(
            target="srv",
            address=topology.SERVER_IP,
            at=float(i),
            cpu=cpu,
            immediate_errno=code,
            final_errno=code,
            duration=0.0,
        )
        for i, (cpu, codes) in enumerate(connected)
        for code in codes * 2  # 10 per CPU: enough for a verdict
    ]
    return types.Measurement(role=types.Role.TARGET, netns="pod", attempts=tuple(made))
