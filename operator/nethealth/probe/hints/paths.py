"""Hints about the pod's way out: its default route, its gateway, and the path beyond.

Unlike the refusals, these faults let the connect start: it times out, finds no host,
or is reset. Errors from the path weigh most when every namespace sees them (Upstream),
since then the destination or the network beyond the node is the likely cause.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import Final

from nethealth.probe import stats, types
from nethealth.probe.hints import context, words

PATH_HINTS: Final = {
    errno.ECONNREFUSED: (
        "PathRefused",
        "The destination answers with a reset: nothing listens on that port, or a firewall "
        "on the way rejects it. Check the service and its endpoints.",
    ),
    errno.ETIMEDOUT: (
        "PathTimeout",
        "Nothing answers: packets are dropped on the way or the destination is down. Check "
        "firewalls, the destination and the route beyond the node.",
    ),
    errno.EHOSTUNREACH: (
        "PathHostUnreachable",
        "A router or the node reports the host unreachable (ICMP), or its address does not "
        "resolve on the link. Check the route and the destination's link.",
    ),
}


def missing_default_route(ctx: context.Context) -> Iterable[context.Scored]:
    ev = ctx.evidence
    if ev is None:
        return
    families = {words.family_of(x.address) for x in ev.lookups}
    families |= {words.family_of(a.address) for a in ctx.failures}
    defaults = {r.family for r in ev.routes if r.dst == "default" and r.table == 254}
    for family in sorted(families - defaults):
        failed_lookups = sorted({
            x.address for x in ev.lookups
            if x.kind == "plain" and x.errno and words.family_of(x.address) == family
        })  # fmt: skip
        failed = sum(1 for a in ctx.failures if words.family_of(a.address) == family)
        if not failed_lookups and not failed:
            continue
        facts = [f"no {words.family(family)} default route in the main table"]
        if failed_lookups:
            facts.append(f"route lookups of {', '.join(failed_lookups)} fail")
        if failed:
            facts.append(f"{failed} {words.family(family)} connects failed")
        yield (
            (80 if failed_lookups else 50),
            types.Hint(
                code="MissingDefaultRoute",
                evidence="; ".join(facts),
                advice=(
                    "The pod has no way out for this address family: the CNI did not install"
                    " (or something removed) the default route. Recreate the pod; if it recurs,"
                    " check the CNI plugin's logs and anything in the pod with NET_ADMIN."
                ),
            ),
        )


def failed_gateway(evidence: types.Evidence | None) -> str | None:
    """The pod's own neighbour entry for its gateway, failed: its connects time out or
    find no host without any policy involved (with Calico, proxy ARP on the host side of
    the pod's veth). What the class table counts as the pod's own fault."""
    failed = _failed_gateway_neighbours(evidence)
    if not failed:
        return None
    return f"its gateway {failed[0].address} on {failed[0].dev} is {failed[0].state}"


def _failed_gateway_neighbours(evidence: types.Evidence | None) -> list[types.Neighbour]:
    if evidence is None:
        return []
    gateways = {x.gateway for x in evidence.lookups if x.gateway} | {
        r.gateway for r in evidence.routes if r.gateway
    }
    return [
        n
        for n in evidence.neighbours
        if n.address in gateways and n.state in ("FAILED", "INCOMPLETE")
    ]


def gateway_neighbour_failed(ctx: context.Context) -> Iterable[context.Scored]:
    path_failures = sum(
        1 for a in ctx.failures if a.final_errno in (errno.EHOSTUNREACH, errno.ETIMEDOUT)
    )
    for neighbour in _failed_gateway_neighbours(ctx.evidence):
        yield (
            (75 if path_failures else 30),
            types.Hint(
                code="GatewayNeighbourFailed",
                evidence=(
                    f"the gateway {neighbour.address} on {neighbour.dev} is {neighbour.state}"
                    f" in the neighbour table; {path_failures} connects timed out or"
                    " found no host"
                ),
                advice=(
                    "The pod cannot resolve its gateway's link address. With Calico the node"
                    " answers for 169.254.1.1 by proxy ARP: check proxy_arp on the host side"
                    " of the pod's veth and that the node routes 169.254.1.1 elsewhere."
                ),
            ),
        )


def path_errors(ctx: context.Context) -> Iterable[context.Scored]:
    failing = [m for m in (ctx.target, *ctx.others.values()) if m is not None]
    counts: dict[int, int] = {}
    for measurement in failing:
        for attempt in measurement.attempts:
            if attempt.final_errno in PATH_HINTS:
                counts[attempt.final_errno] = counts.get(attempt.final_errno, 0) + 1
    for code, count in sorted(counts.items(), key=lambda item: -item[1]):
        name, advice = PATH_HINTS[code]
        score = 80 if ctx.klass == types.ProbeClass.UPSTREAM else 40
        roles = [
            m.role.value for m in failing
            if any(a.final_errno == code for a in m.attempts)
        ]  # fmt: skip
        yield (
            score,
            types.Hint(
                code=name,
                evidence=(
                    f"{count} connects ended with {stats.errno_name(code)} (in {', '.join(roles)})"
                ),
                advice=advice,
            ),
        )


def filtered(ctx: context.Context) -> Iterable[context.Scored]:
    """Only this pod fails, and not in its own namespace: its traffic is filtered."""
    if ctx.klass is not types.ProbeClass.FILTERED:
        return
    codes: dict[int, int] = {}
    for attempt in ctx.failures:
        codes[attempt.final_errno] = codes.get(attempt.final_errno, 0) + 1
    ended = ", ".join(
        f"{stats.errno_name(c)} {n}" for c, n in sorted(codes.items(), key=lambda i: -i[1])
    )
    control = ctx.others.get(types.Role.CONTROL)
    through = sum(1 for a in control.attempts if a.ok) if control is not None else 0
    yield (
        95,
        types.Hint(
            code="PodTrafficFiltered",
            evidence=(
                f"{len(ctx.failures)} connects of this pod failed beyond its namespace"
                f" ({ended}); a fresh pod on the same node got through {through} times"
            ),
            advice=(
                "Something drops or refuses this pod's traffic and not a fresh pod's: most"
                " likely a NetworkPolicy that selects this pod (`kubectl get networkpolicy"
                " -n <namespace>`), or a firewall that matches its address. The operator"
                " never moves such a pod to the node's network: that would only get around"
                " the policy."
            ),
        ),
    )
