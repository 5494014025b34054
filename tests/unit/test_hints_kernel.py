"""The kernel's broadcast route cache regression: when it is the top hint, and what it says.

The picture is the regression VM's (tests/kernel) and the seed's: a cached broadcast
route on some CPUs only, connects failing there with ENETUNREACH, IpOutNoRoutes flat.
"""

from __future__ import annotations

import pytest
from probe_builders import (
    AFFECTED,
    ALL,
    DEFAULT_ROUTE,
    FIXED,
    HALF,
    SERVER,
    VM_PROC_VERSION,
    VM_RELEASE,
    attempts,
    codes,
    evidence,
    hint,
    kernel,
    lookup,
    ok,
    poisoned_on,
    run,
    three,
)

from nethealth.probe import kernels, types

Class = types.ProbeClass


POISONED = (
    lookup("plain", cpu=0),
    lookup("flow", cpu=0),
    lookup("fib_match", cpu=0),
    lookup("plain", cpu=1, type="broadcast", flags=0x90000200),
    lookup("flow", cpu=1, type="broadcast", flags=0x90000200),
    lookup("fib_match", cpu=1),
)
ON_CPU_1 = dict(cpu=lambda i: 1 if i % 2 == 0 else 0)  # the failing attempts ran on CPU 1
SSDP_SOCKET = types.UdpSocket(family=2, address="0.0.0.0", port=1900, inode=7, owners=("42/hass",))
SSDP_GROUP = types.Membership(family=2, dev="eth0", group="239.255.255.250")


def test_poisoned_route_cache_on_a_bad_kernel_is_the_top_hint_with_upgrade_advice():
    measurements = three(attempts(HALF, **ON_CPU_1), ok(), ok())
    ev = evidence(lookups=POISONED, udp_sockets=(SSDP_SOCKET,), memberships=(SSDP_GROUP,))
    verdict = run(measurements, ev=ev, kernel=AFFECTED)
    assert verdict.klass == Class.POD_NAMESPACE
    assert codes(verdict)[0] == "KernelBroadcastRouteCache"
    top = verdict.hints[0]
    assert (
        "on CPU 1 a plain lookup of 203.0.113.10 returned broadcast via 169.254.1.1"
        " cache <local,brd> (flags 0x90000200), CPU 0 unicast" in top.evidence
    )
    assert "6.12.45" in top.advice
    assert "255.255.255.255:1900" in top.advice
    assert "hostNetwork may not help" in top.advice
    assert {"PerCpuFailures", "BroadcastSenders"} <= set(codes(verdict))
    assert "0.0.0.0:1900 (42/hass)" in hint(verdict, "BroadcastSenders").evidence


def test_bad_kernel_without_a_poisoned_lookup_still_hints_when_no_rule_refused():
    # By the time evidence is taken the cache may be clean again; ENETUNREACH that did
    # not bump OutNoRoutes on one CPU only is still the bug's fingerprint.
    measurements = three(attempts(HALF, **ON_CPU_1), ok(), ok())
    verdict = run(measurements, ev=evidence(counters={"IpOutNoRoutes": 0}), kernel=AFFECTED)
    assert codes(verdict)[0] == "KernelBroadcastRouteCache"
    assert "IpOutNoRoutes rose by only 0" in verdict.hints[0].evidence


def test_fixed_kernel_without_cache_evidence_gets_no_kernel_hint():
    measurements = three(attempts(HALF, **ON_CPU_1), ok(), ok())
    verdict = run(measurements, ev=evidence(), kernel=FIXED)
    assert "KernelBroadcastRouteCache" not in codes(verdict)


# --- the regression VM's picture (tests/kernel, kernelrepro/README.md) ------------------
#
# Debian 6.1.192 with the fix taken out, two CPUs, an M-SEARCH to 255.255.255.255:1900
# after an IGMP join/leave on CPU 0: CPU 0's plain, flow-key *and* FIB-match lookups
# said broadcast via 169.254.1.1 (flags 0x90000200 on the cached ones), CPU 1 unicast;
# 20/20 connects on CPU 0 failed with ENETUNREACH, 0/20 on CPU 1; IpOutNoRoutes +0; the
# fresh pod and the node were fine. The kernel calls itself 6.1.192, a fixed release.

VM_KERNEL = kernels.assess(VM_RELEASE, proc_version=VM_PROC_VERSION)
ON_CPU = {0: dict(cpu=lambda i: i % 2), 1: dict(cpu=lambda i: 1 - i % 2)}  # 'x' runs there
SEED = "x." * 20  # 40 attempts alternating over the CPUs, every one on the first CPU fails


def vm_verdict(
    *,
    poisoned: tuple[int, ...] = (0,),
    failing_cpu: int = 0,
    picture: str = SEED,
    kernel: types.KernelAssessment | None = VM_KERNEL,
    **fields: object,
) -> types.Verdict:
    measurements = three(attempts(picture, **ON_CPU[failing_cpu]), ok(40), ok(40))
    ev = evidence(**{"lookups": poisoned_on(*poisoned), "counters": {"IpOutNoRoutes": 0}, **fields})
    return run(measurements, ev=ev, kernel=kernel)


def test_the_vms_self_built_kernel_reads_as_its_own_fixed_release_not_gccs():
    assert (VM_KERNEL.version, VM_KERNEL.status) == ("6.1.192", types.KernelStatus.FIXED)


@pytest.mark.parametrize(
    ("case", "params"),
    [
        ("broadcast on CPU 0, the VM's own kernel", {}),
        ("the fresh pod: broadcast on CPU 1", dict(poisoned=(1,), failing_cpu=1)),
        ("SSDP-like sender: CPU 0 fails in blocks", dict(picture="x.x.x.x." + "." * 8 + "x." * 6
                                                         + "." * 6 + "x.x.x." + "." * 4)),
        ("kernel not assessed", dict(kernel=None)),
        ("kernel version unknown", dict(kernel=kernels.assess("6.1.0-41-amd64"))),
        ("kernel older than the regression", dict(kernel=kernels.assess("6.1.148"))),
        ("kernel in the known-bad table", dict(kernel=AFFECTED)),
        ("with SSDP senders present", dict(
            udp_sockets=(types.UdpSocket(family=2, address="0.0.0.0", port=1900, inode=7),),
            memberships=(types.Membership(family=2, dev="eth0", group="239.255.255.250"),),
        )),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_a_cached_broadcast_route_on_the_failing_cpu_only_is_the_top_hint_whatever_the_version(
    case, params
):
    verdict = vm_verdict(**params)
    assert verdict.klass == Class.POD_NAMESPACE, case
    assert codes(verdict)[0] == "KernelBroadcastRouteCache", (case, codes(verdict))
    assert codes(verdict).index("PerCpuFailures") > 0


def test_the_vms_evidence_is_told_as_seen_per_cpu():
    top = vm_verdict().hints[0]
    assert (
        "route lookups differ between CPUs: on CPU 0 a plain lookup of 203.0.113.10 returned"
        " broadcast via 169.254.1.1 cache <local,brd> (flags 0x90000200), CPU 1 unicast"
        in top.evidence
    )
    assert (
        "failures on CPU 0, none on CPU 1: 20/20 connects on CPU 0 failed with ENETUNREACH,"
        " 0/20 on CPU 1" in top.evidence
    )
    assert "IpOutNoRoutes rose by only 0" in top.evidence
    assert (
        "kernel 6.1.192-nethealth-regression (6.1.192) is not in the known-bad table (Fixed)"
        in top.evidence
    )


def test_on_a_kernel_the_table_calls_fixed_the_advice_says_builds_can_carry_the_bug():
    advice = vm_verdict().hints[0].advice
    assert "6.1.192-nethealth-regression is not a release in the known-bad table" in advice
    assert "backport or patch" in advice
    assert "5189446ba995" in advice
    assert "255.255.255.255:1900" in advice
    assert "hostNetwork may not help" in advice
    assert "Upgrade the node's kernel to 6.1.150" not in advice  # it already is newer


def test_on_a_kernel_of_unknown_version_the_advice_says_it_could_not_be_placed():
    advice = vm_verdict(kernel=kernels.assess("6.1.0-41-amd64")).hints[0].advice
    assert "could not be placed in the known-bad table" in advice


def test_a_fib_match_broadcast_on_the_poisoned_cpu_only_is_the_cache_not_a_fib_entry():
    # The kernel types the RTM_F_FIB_MATCH answer from the cached route (route.c:
    # fri.type = rt->rt_type), so the poisoned CPU's FIB-match lookup says broadcast too.
    looked = poisoned_on(0)
    assert {x.type for x in looked if x.kind == "fib_match" and x.cpu == 0} == {"broadcast"}
    verdict = vm_verdict()
    assert "LocalTableBroadcastEntry" not in codes(verdict)
    assert "TransientLocalRefusal" not in codes(verdict)
    assert "returned broadcast" in hint(verdict, "KernelBroadcastRouteCache").evidence


@pytest.mark.parametrize(
    ("case", "params"),
    [
        # Poison seen on CPU 1, but the connects failed on CPU 0: it moved, or is not it.
        ("poison and failures on different CPUs", dict(poisoned=(1,), failing_cpu=0)),
        # A routing decision refused the connects: the cached route does not bump it.
        ("IpOutNoRoutes rose with the failures", dict(counters={"IpOutNoRoutes": 20})),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_cached_broadcast_route_not_lined_up_with_the_failures_stays_below_per_cpu(case, params):
    verdict = vm_verdict(**params)
    assert "KernelBroadcastRouteCache" in codes(verdict), case
    assert codes(verdict).index("PerCpuFailures") < codes(verdict).index(
        "KernelBroadcastRouteCache"
    )


def test_a_known_bad_kernel_whose_poisoned_cpu_was_not_caught_keeps_a_lower_hint():
    # The connects failed on CPU 0, but when evidence was taken every CPU answered
    # unicast: the version and the fingerprint say it, nothing was seen.
    measurements = three(attempts(SEED), ok(40), ok(40))
    bad = run(measurements, ev=evidence(counters={"IpOutNoRoutes": 0}), kernel=AFFECTED)
    seen = vm_verdict(kernel=AFFECTED)
    assert codes(bad)[0] == codes(seen)[0] == "KernelBroadcastRouteCache"
    assert "returned broadcast" not in bad.hints[0].evidence
    # Ranked below a cause seen directly: a refusing rule that failed connects (85).
    rule = types.PolicyRule(family=2, priority=100, action="unreachable", selectors=("ipproto 6",))
    with_rule = run(
        measurements, ev=evidence(counters={"IpOutNoRoutes": 0}, rules=(rule,)), kernel=AFFECTED
    )
    assert codes(with_rule)[:2] == ["PolicyRuleUnreachable", "KernelBroadcastRouteCache"]
    # Seen at work, the same kernel hint outranks that rule.
    assert codes(vm_verdict(kernel=AFFECTED, rules=(rule,)))[0] == "KernelBroadcastRouteCache"


def test_broadcast_on_every_cpu_with_no_local_table_entry_is_the_cache_on_every_cpu():
    measurements = three(attempts("x" * 40), ok(40), ok(40))
    ev = evidence(lookups=poisoned_on(0, 1), counters={"IpOutNoRoutes": 0})
    verdict = run(measurements, ev=ev, kernel=kernel(types.KernelStatus.UNKNOWN))
    top = verdict.hints[0]
    assert top.code == "KernelBroadcastRouteCache"
    assert "on CPU 0, 1 a plain lookup of 203.0.113.10 returned broadcast" in top.evidence
    assert "while the local table has no broadcast entry for it" in top.evidence


def test_broadcast_on_every_cpu_without_a_route_dump_is_taken_for_a_fib_entry():
    # The route dump failed: a FIB-match broadcast answer on every CPU is then the best
    # sign of a real entry, and a real entry is not the kernel's doing.
    measurements = three(attempts("x" * 40), ok(40), ok(40))
    ev = evidence(lookups=poisoned_on(0, 1), routes=(), errors=("routes: OSError: gone",))
    verdict = run(measurements, ev=ev, kernel=VM_KERNEL)
    assert "KernelBroadcastRouteCache" not in codes(verdict)


def test_broadcast_entry_in_the_local_table_is_not_mistaken_for_the_kernel_bug():
    entry = types.RouteEntry(family=2, table=255, type="broadcast", dst=f"{SERVER}/32", dev="eth0")
    looked = tuple(
        lookup(kind, cpu=cpu, type="broadcast", flags=0x90000200, gateway=None)
        for cpu in (0, 1)
        for kind in ("plain", "flow", "fib_match")
    )
    measurements = three(attempts(ALL), ok(), ok())
    verdict = run(
        measurements, ev=evidence(routes=(DEFAULT_ROUTE, entry), lookups=looked), kernel=FIXED
    )
    assert codes(verdict)[0] == "LocalTableBroadcastEntry"
    assert "covers the target address 203.0.113.10" in verdict.hints[0].evidence
    assert "ip route del broadcast 203.0.113.10/32 dev eth0 table local" in verdict.hints[0].advice
    assert "KernelBroadcastRouteCache" not in codes(verdict)


def test_broadcast_entry_on_a_bad_kernel_is_still_the_entry_not_the_kernel():
    entry = types.RouteEntry(family=2, table=255, type="broadcast", dst=f"{SERVER}/32", dev="eth0")
    measurements = three(attempts(ALL), ok(), ok())
    ev = evidence(routes=(DEFAULT_ROUTE, entry), counters={"IpOutNoRoutes": 0})
    verdict = run(measurements, ev=ev, kernel=AFFECTED)
    assert codes(verdict)[0] == "LocalTableBroadcastEntry"
    assert "KernelBroadcastRouteCache" not in codes(verdict)
