"""Pure: where resolving a name fails, from the same resolution in several places.

The name is resolved with the *pod's* resolver configuration from the pod's namespace, a
fresh pod's and the node's, and with the *probe's own* configuration from its own
namespace (a fresh pod as the cluster sets it up). The table follows the connects':

    pod      fresh pod   node     class          what it says
    ok       -           -        Healthy
    fails    ok          -        PodNamespace   the kernel refused the pod's query at once
    fails    ok          -        Filtered       the pod's queries get no answer, a fresh
                                                 pod's do (a NetworkPolicy without DNS)
    fails    fails       ok       NodeNetwork    pods on this node cannot reach the server
    fails    fails       fails    Upstream       the pod's nameservers fail from anywhere
    fails    missing     -        Inconclusive

When the pod's configuration fails everywhere but the probe's own resolver answers, the
reason says so: the pod's ``dnsPolicy``/``dnsConfig`` points at a server that does not
answer (or a search list that does not find the name). When nothing resolves the name at
all, not even the probe's own resolver, the name does not exist from where the probe
stands: ``unresolvable``, the check's spec to fix, not the pod.

One resolution per place is one observation, not a rate: the operator's decision does
not count these verdicts towards a failing run (the resolver's own retries already make
a lost packet unlikely to fail one); the class and the hints report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nethealth.probe import types

_WORDS = {
    types.Role.TARGET: "the pod",
    types.Role.CONTROL: "a fresh pod",
    types.Role.HOST: "the node",
}


def judge(
    *,
    name: str,
    target: str | None,
    by_role: Mapping[types.Role, types.Resolution],
    own: types.Resolution | None,
    servers: Sequence[str],
) -> types.DnsVerdict:
    """The verdict on one name (see the module docstring)."""
    pod = by_role[types.Role.TARGET]
    control, host = by_role.get(types.Role.CONTROL), by_role.get(types.Role.HOST)
    nobody = not any(r.ok for r in (*by_role.values(), *([own] if own else [])))
    klass, where = _where(pod=pod, control=control, host=host)
    said = "; ".join(_said(role, r) for role, r in by_role.items())
    reason = f"dns {name}: {said}"
    if where:
        reason += f": {where}"
    if not pod.ok and own is not None and own.ok:
        reason += (
            f"; the probe's own resolver answers ({_addresses(own)}): the pod's resolver"
            " configuration does not find it"
        )
    return types.DnsVerdict(
        name=name,
        target=target,
        klass=types.ProbeClass.INCONCLUSIVE if nobody and target else klass,
        reason=reason
        if not nobody
        else f"{reason}; nothing resolves it, not even the probe's own resolver",
        by_role=dict(by_role),
        own=own,
        servers=tuple(servers),
        unresolvable=nobody,
    )


def _where(
    *,
    pod: types.Resolution,
    control: types.Resolution | None,
    host: types.Resolution | None,
) -> tuple[types.ProbeClass, str]:
    if pod.ok:
        return types.ProbeClass.HEALTHY, ""
    if control is None:
        return types.ProbeClass.INCONCLUSIVE, "a fresh pod could not resolve with it to compare"
    if control.ok:
        if pod.status == "refused-locally":
            return (
                types.ProbeClass.POD_NAMESPACE,
                "only the pod fails, refused in its own namespace",
            )
        return (
            types.ProbeClass.FILTERED,
            "only the pod fails, with the same nameservers: its DNS traffic is filtered"
            " (a NetworkPolicy without DNS egress, or a firewall)",
        )
    if host is None:
        return types.ProbeClass.INCONCLUSIVE, "the node could not resolve with it to compare"
    if host.ok:
        return types.ProbeClass.NODE_NETWORK, "pods on this node fail, the node does not"
    return types.ProbeClass.UPSTREAM, "every namespace fails with the pod's nameservers"


def _said(role: types.Role, resolution: types.Resolution) -> str:
    if resolution.ok:
        return f"{_WORDS[role]} resolves it ({_addresses(resolution)})"
    return f"{_WORDS[role]}: {resolution.status} ({resolution.detail})"


def _addresses(resolution: types.Resolution) -> str:
    return ", ".join(resolution.addresses[:4])
