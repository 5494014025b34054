"""Hints other than the kernel's: refusing rules and routes, the way out, timing, the path."""

from __future__ import annotations

import errno

import pytest
from probe_builders import (
    AFFECTED,
    ALL,
    DEFAULT_ROUTE,
    FIXED,
    GATEWAY,
    HALF,
    attempts,
    codes,
    evidence,
    hint,
    lookup,
    ok,
    run,
    three,
)

from nethealth.probe import stats, types

Class = types.ProbeClass


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
