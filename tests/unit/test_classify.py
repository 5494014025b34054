"""Classification: which namespaces fail decides the class; evidence ranks the hints."""

from __future__ import annotations

import errno

import pytest
from probe_builders import (
    AFFECTED,
    DEFAULT_ROUTE,
    FIXED,
    GATEWAY,
    SERVER,
    VM_PROC_VERSION,
    VM_RELEASE,
    attempts,
    evidence,
    kernel,
    lookup,
    measured,
    ok,
    poisoned_on,
    three,
    unmeasured,
)

from nethealth.probe import classes, classify, kernels, stats, types

Role = types.Role
Class = types.ProbeClass

HALF = "x." * 30  # the seed: every other connect fails (alternating CPUs)
ALL = "x" * 60


def codes(verdict: types.Verdict) -> list[str]:
    return [h.code for h in verdict.hints]


def hint(verdict: types.Verdict, code: str) -> types.Hint:
    return next(h for h in verdict.hints if h.code == code)


def run(measurements, *, ev=None, kernel=None, **kwargs) -> types.Verdict:
    return classify.classify(measurements=measurements, evidence=ev, kernel=kernel, **kwargs)


# --- the class -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "control", "host", "expected"),
    [
        ("." * 60, "." * 60, "." * 60, Class.HEALTHY),
        (HALF, "." * 60, "." * 60, Class.POD_NAMESPACE),
        (HALF, "." * 60, ALL, Class.POD_NAMESPACE),  # a fresh pod is the comparison that counts
        (HALF, HALF, "." * 60, Class.NODE_NETWORK),
        (ALL, ALL, ALL, Class.UPSTREAM),
    ],
    ids=["healthy", "pod-only", "pod-and-host", "pods-not-host", "everyone"],
)
def test_class_follows_which_namespaces_fail(target, control, host, expected):
    verdict = run(three(attempts(target), attempts(control), attempts(host)))
    assert verdict.klass == expected


def test_seed_incident_is_pod_namespace_and_says_who_failed_how():
    verdict = run(three(attempts(HALF), ok(), ok()))
    assert verdict.klass == Class.POD_NAMESPACE
    assert "30/60 failed in the target pod (ENETUNREACH 30)" in verdict.reason
    assert "0/60 failed in a fresh pod" in verdict.reason


@pytest.mark.parametrize(
    ("attempt_count", "failures"),
    [(60, 1), (60, 2), (60, 4), (20, 2), (10, 1)],
)
def test_a_few_failures_within_background_loss_are_healthy(attempt_count, failures):
    picture = "x" * failures + "." * (attempt_count - failures)
    verdict = run(three(attempts(picture), ok(attempt_count), ok(attempt_count)))
    assert verdict.klass == Class.HEALTHY


@pytest.mark.parametrize(("attempt_count", "failures"), [(60, 5), (60, 30), (20, 3), (10, 3)])
def test_failures_clearly_above_background_loss_are_a_fault(attempt_count, failures):
    picture = "x" * failures + "." * (attempt_count - failures)
    verdict = run(three(attempts(picture), ok(attempt_count), ok(attempt_count)))
    assert verdict.klass == Class.POD_NAMESPACE


def test_failure_threshold_is_a_significance_test_not_a_count():
    # The same share of failures means more with more attempts.
    assert not stats.is_failing(attempts=10, failures=2)
    assert stats.is_failing(attempts=100, failures=20)
    assert stats.binomial_tail(n=60, k=5, p=stats.NOISE_RATE) < stats.SIGNIFICANCE
    assert stats.binomial_tail(n=60, k=4, p=stats.NOISE_RATE) >= stats.SIGNIFICANCE


def test_unmeasured_target_is_inconclusive_with_the_error():
    measurements = [unmeasured(Role.TARGET, "no such network namespace: /proc/42/ns/net")]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "no such network namespace" in verdict.reason


def test_too_few_attempts_is_inconclusive_and_says_how_many_are_needed():
    verdict = run(three(attempts("xx.x"), ok(4), ok(4)))
    assert verdict.klass == Class.INCONCLUSIVE
    assert "only 4 attempts" in verdict.reason
    assert f"at least {classes.MIN_ATTEMPTS}" in verdict.reason


def test_failing_target_without_control_cannot_tell_pod_from_node():
    measurements = [
        measured(Role.TARGET, attempts(HALF)),
        unmeasured(Role.CONTROL, "control pod never became ready"),
        measured(Role.HOST, ok()),
    ]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "control pod never became ready" in verdict.reason
    assert "pod fault cannot be told from a node fault" in verdict.reason


def test_failing_pods_without_host_cannot_tell_node_from_upstream():
    measurements = [measured(Role.TARGET, attempts(ALL)), measured(Role.CONTROL, attempts(ALL))]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "the host was not measured" in verdict.reason


def test_failing_target_with_working_control_needs_no_host():
    measurements = [measured(Role.TARGET, attempts(HALF)), measured(Role.CONTROL, ok())]
    assert run(measurements).klass == Class.POD_NAMESPACE


def test_healthy_target_is_healthy_even_without_comparisons():
    assert run([measured(Role.TARGET, ok())]).klass == Class.HEALTHY


def test_with_several_targets_the_most_local_fault_wins_and_is_named():
    target = (*attempts(HALF, target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    control = (*ok(target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    host = (*ok(target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    verdict = run(three(target, control, host))
    assert verdict.klass == Class.POD_NAMESPACE
    assert verdict.reason.startswith("api:")
    assert "db:" not in verdict.reason


# --- hints -------------------------------------------------------------------------------

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


UNREACHABLE_RULE = types.PolicyRule(
    family=2, priority=100, action="unreachable", selectors=("ipproto 6", "dport 8080")
)
HIDDEN_BY_FLOW_KEY = (
    lookup("plain", cpu=0),
    lookup("flow", cpu=0, code=errno.ENETUNREACH),
    lookup("fib_match", cpu=0),
)


def test_unreachable_policy_rule_is_named_and_the_hidden_lookup_explained():
    measurements = three(attempts("xxxxxx......" * 5), ok(), ok())
    ev = evidence(
        rules=(UNREACHABLE_RULE,), lookups=HIDDEN_BY_FLOW_KEY, counters={"IpOutNoRoutes": 30}
    )
    verdict = run(measurements, ev=ev, kernel=FIXED)
    assert verdict.klass == Class.POD_NAMESPACE
    top = verdict.hints[0]
    assert top.code == "PolicyRuleUnreachable"
    assert "pref 100 ipproto 6 dport 8080 unreachable" in top.evidence
    assert "flow-key lookup of 203.0.113.10 fails with ENETUNREACH" in top.evidence
    assert "ip -4 rule del pref 100" in top.advice
    assert "KernelBroadcastRouteCache" not in codes(verdict)


def test_toggled_rule_makes_failures_bursty_in_time_blocks():
    measurements = three(attempts("xxxxxx......" * 5), ok(), ok())
    verdict = run(measurements, ev=evidence(rules=(UNREACHABLE_RULE,)), kernel=FIXED)
    bursty = hint(verdict, "BurstyFailures")
    assert "5 blocks" in bursty.evidence
    assert "0.0-2.5 s" in bursty.evidence


def test_scattered_failures_are_not_called_bursty():
    measurements = three(attempts(HALF), ok(), ok())
    assert "BurstyFailures" not in codes(run(measurements, ev=evidence()))


def test_failures_on_every_cpu_are_not_called_per_cpu():
    picture = "xx.." * 15  # each CPU fails every other time
    assert "PerCpuFailures" not in codes(run(three(attempts(picture), ok(), ok())))


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


@pytest.mark.parametrize(
    ("route_type", "code", "expected"),
    [
        ("blackhole", errno.EINVAL, "BlackholeRoute"),
        ("prohibit", errno.EACCES, "ProhibitRoute"),
        ("unreachable", errno.ENETUNREACH, "UnreachableRoute"),
    ],
)
def test_refusing_routes_covering_the_target_are_top_hints(route_type, code, expected):
    entry = types.RouteEntry(family=2, table=254, type=route_type, dst="203.0.113.0/24")
    measurements = three(attempts(ALL, code=code), ok(), ok())
    verdict = run(measurements, ev=evidence(routes=(DEFAULT_ROUTE, entry)))
    assert codes(verdict)[0] == expected
    assert stats.errno_name(code) in verdict.hints[0].evidence


def test_missing_default_route_is_reported_when_lookups_fail():
    failing = tuple(lookup("plain", cpu=c, code=errno.ENETUNREACH) for c in (0, 1))
    measurements = three(attempts(ALL), ok(), ok())
    verdict = run(measurements, ev=evidence(routes=(), lookups=failing))
    assert codes(verdict)[0] == "MissingDefaultRoute"
    assert "no IPv4 default route" in verdict.hints[0].evidence


def test_failed_gateway_neighbour_explains_timeouts():
    neighbour = types.Neighbour(address=GATEWAY, dev="eth0", state="FAILED")
    measurements = three(attempts(ALL, code=errno.EHOSTUNREACH), ok(), ok())
    verdict = run(measurements, ev=evidence(neighbours=(neighbour,)))
    assert codes(verdict)[0] == "GatewayNeighbourFailed"
    assert "169.254.1.1 on eth0 is FAILED" in verdict.hints[0].evidence


def test_upstream_refusal_is_explained_as_the_path():
    everyone = attempts(ALL, code=errno.ECONNREFUSED)
    verdict = run(three(everyone, everyone, everyone), ev=evidence())
    assert verdict.klass == Class.UPSTREAM
    assert codes(verdict)[0] == "PathRefused"
    assert "in target, control, host" in verdict.hints[0].evidence


def test_pod_refusals_with_nothing_to_show_for_them_say_so():
    measurements = three(attempts(HALF), ok(), ok())
    verdict = run(measurements, ev=evidence(), kernel=FIXED)
    assert "TransientLocalRefusal" in codes(verdict)


def test_healthy_pod_gets_no_hints():
    verdict = run(three(ok(), ok(), ok()), ev=evidence(), kernel=AFFECTED)
    assert verdict.klass == Class.HEALTHY
    assert verdict.hints == ()
