"""Hints about names the pod cannot resolve the way its applications do.

One hint per name whose resolution fails in the pod, coded by how it failed; it names the
nameservers the pod's resolv.conf gives, what a fresh pod and the node got with the same
configuration, and whether the probe's own resolver (the cluster's, as a fresh pod gets
it) answers: a pod whose configuration points at a dead server is told apart from a
nameserver that is down for everyone, and from a network that drops only the pod's DNS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from nethealth.probe import types
from nethealth.probe.hints import context

_CODES: Final = {
    "timeout": "DnsTimeout",
    "unreachable": "DnsTimeout",
    "refused-locally": "DnsRefusedLocally",
    "servfail": "DnsServfail",
    "refused": "DnsRefused",
    "nxdomain": "DnsNxdomain",
    "nodata": "DnsNxdomain",
    "error": "DnsError",
}
_ADVICE: Final = {
    "DnsTimeout": "The pod's nameservers do not answer it. If the probe's own resolver "
    "answers, the pod's dnsPolicy/dnsConfig points at the wrong server; if only this pod "
    "gets no answer, a NetworkPolicy or firewall drops its DNS (allow UDP and TCP 53 to "
    "the cluster DNS); if nobody does, check the DNS service and its endpoints.",
    "DnsRefusedLocally": "The pod's own namespace refuses its DNS queries before they leave "
    "(a rule, route or broadcast route): see the other hints for which.",
    "DnsServfail": "The nameserver answers SERVFAIL: it cannot reach the authoritative "
    "servers or its upstream. Check the cluster DNS's logs and forwarders.",
    "DnsRefused": "The nameserver refuses to answer this pod: check its access rules.",
    "DnsNxdomain": "The name does not exist as the pod's search list expands it. Check "
    "the name, the pod's search domains and ndots (a name with fewer dots than ndots "
    "is tried with every search domain first).",
    "DnsError": "The pod's resolver configuration or the answers could not be used.",
}


def unresolved_names(ctx: context.Context) -> Iterable[context.Scored]:
    for verdict in ctx.dns:
        pod = verdict.by_role.get(types.Role.TARGET)
        if pod is None or pod.ok:
            continue
        code = _CODES.get(pod.status, "DnsError")
        pod_side = verdict.klass in (types.ProbeClass.POD_NAMESPACE, types.ProbeClass.FILTERED)
        config = verdict.own is not None and verdict.own.ok
        yield (
            92 if pod_side or config else 70,
            types.Hint(code=code, evidence=_evidence(verdict, pod), advice=_ADVICE[code]),
        )


def _evidence(verdict: types.DnsVerdict, pod: types.Resolution) -> str:
    servers = ", ".join(verdict.servers) or "none"
    facts = [
        f"{verdict.name}: {pod.status} in the pod ({pod.detail}) with its resolv.conf"
        f" (nameservers {servers}; tried {', '.join(pod.tried[:4]) or 'nothing'})"
    ]
    for role, word in ((types.Role.CONTROL, "a fresh pod"), (types.Role.HOST, "the node")):
        other = verdict.by_role.get(role)
        if other is not None:
            facts.append(f"{word} with the same: {other.status}")
    if verdict.own is not None:
        got = ", ".join(verdict.own.addresses[:2]) if verdict.own.ok else verdict.own.status
        server = f" (nameserver {verdict.own.server})" if verdict.own.server else ""
        facts.append(f"the probe's own resolver{server}: {got}")
    return "; ".join(facts)
