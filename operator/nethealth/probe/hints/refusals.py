"""Hints for rules and routes in the pod's namespace that refuse traffic.

Each refusing rule action and route type makes connect() fail at once with its own
errno, so a rule or route is tied to the failures by that errno (and, for a policy rule,
by a flow-key lookup that fails where a plain one does not: `ip route get` alone hides
`ipproto tcp dport N` rules). When connects were refused inside the pod but nothing
refusing was there when the evidence was taken, that is a hint too: the state toggles.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from typing import Final

from nethealth.probe import stats, types
from nethealth.probe.hints import context, routecache, words

# The errno a connect() gets from each refusing rule action.
ERRNO_OF_ACTION: Final = {
    "unreachable": errno.ENETUNREACH, "prohibit": errno.EACCES, "blackhole": errno.EINVAL,
}  # fmt: skip
# The hint code and the connect() errno of each refusing route type.
_ROUTE_HINTS: Final = {
    "broadcast": ("LocalTableBroadcastEntry", errno.ENETUNREACH),
    "blackhole": ("BlackholeRoute", errno.EINVAL),
    "unreachable": ("UnreachableRoute", errno.ENETUNREACH),
    "prohibit": ("ProhibitRoute", errno.EACCES),
}


def policy_rules(ctx: context.Context) -> Iterable[context.Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    for rule in ev.rules:
        if rule.action not in ERRNO_OF_ACTION:
            continue
        code = ERRNO_OF_ACTION[rule.action]
        failed = ctx.failures_with(code, family=rule.family)
        hidden = _hidden_by_flow_key(ev, family=rule.family)
        facts = [
            f"policy rule '{rule.text}' ({words.family(rule.family)}) refuses matching traffic"
        ]
        if hidden:
            facts.append(
                f"a TCP flow-key lookup of {hidden} fails with {stats.errno_name(code)} while a"
                " plain lookup says unicast"
            )
        if failed:
            facts.append(f"{failed} connects failed with {stats.errno_name(code)}")
        no_routes = ev.counters.get(
            "IpOutNoRoutes" if rule.family == socket.AF_INET else "Ip6OutNoRoutes"
        )
        if no_routes:
            facts.append(f"OutNoRoutes rose by {no_routes}")
        score = 95 if failed and hidden else 85 if failed or hidden else 40
        yield (
            score,
            types.Hint(
                code=f"PolicyRule{rule.action.capitalize()}",
                evidence="; ".join(facts),
                advice=(
                    f"Remove the rule in the pod's namespace (`ip {words.family_flag(rule.family)}"
                    f" rule del pref {rule.priority}`) and find what adds it: a CNI plugin, an init"
                    " container or sidecar, or the application itself with NET_ADMIN. A plain"
                    " `ip route get` does not show it; `ip route get <dst> ipproto tcp dport"
                    " <port>` does."
                ),
            ),
        )


def _hidden_by_flow_key(ev: types.Evidence, *, family: int) -> str | None:
    """An address whose flow-key lookup fails on a CPU where its plain lookup is unicast."""
    plain_ok = {
        (look.address, look.cpu)
        for look in ev.lookups
        if look.kind == "plain" and not look.errno and look.type == "unicast"
    }
    for look in ev.lookups:
        is_family = (":" in look.address) == (family == socket.AF_INET6)
        if (
            look.kind == "flow"
            and look.errno
            and is_family
            and (look.address, look.cpu) in plain_ok
        ):
            return look.address
    return None


def refusing_routes(ctx: context.Context) -> Iterable[context.Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    addresses = sorted({a.address for a in ctx.target_attempts} | {x.address for x in ev.lookups})
    for entry in ev.routes:
        if entry.type not in _ROUTE_HINTS:
            continue
        code, expected = _ROUTE_HINTS[entry.type]
        covered = [a for a in addresses if words.covers(entry.dst, address=a)]
        failed = ctx.failures_with(expected)
        facts = [f"{entry.type} route {entry.dst} in table {words.table(entry.table)}"]
        if covered:
            facts.append(f"it covers the target address {', '.join(covered)}")
        if failed:
            facts.append(f"{failed} connects failed with {stats.errno_name(expected)}")
        score = 95 if covered and failed else 70 if covered else 35
        dev = f" dev {entry.dev}" if entry.dev else ""
        yield (
            score,
            types.Hint(
                code=code,
                evidence="; ".join(facts),
                advice=(
                    f"Delete it in the pod's namespace (`ip route del {entry.type} {entry.dst}{dev}"
                    f" table {words.table(entry.table)}`) and find what adds it (a CNI plugin, an"
                    " init container, the application with NET_ADMIN)."
                ),
            ),
        )


def unexplained_local_refusals(ctx: context.Context) -> Iterable[context.Scored]:
    local = [a for a in ctx.failures if a.local]
    if not local or ctx.klass != types.ProbeClass.POD_NAMESPACE:
        return
    ev = ctx.evidence
    explained = ev is not None and (
        any(r.action in ERRNO_OF_ACTION for r in ev.rules)
        or any(r.type in _ROUTE_HINTS for r in ev.routes)
        or routecache.poisoned_lookups(ev)
        or routecache.disagreeing_cpus(ev)
    )
    if explained:
        return
    codes = sorted({stats.errno_name(a.final_errno) for a in local})
    yield (
        30,
        types.Hint(
            code="TransientLocalRefusal",
            evidence=(
                f"{len(local)} connects were refused inside the pod ({', '.join(codes)}) but no"
                " rule, route or cached route refusing them was present when evidence was taken"
            ),
            advice=(
                "The refusing state comes and goes. Probe again while it fails, and look for a"
                " process in the pod that changes rules or routes, or a kernel route cache fault."
            ),
        ),
    )
