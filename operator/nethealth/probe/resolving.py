"""Names resolved the way the pod resolves them, before anything is measured.

An application connects to what *its* resolver says, so the targets' addresses come from
the pod's own resolution: its resolv.conf, from inside its namespace (`dns.lookup`), both
address families (a dual-stack name is measured on each). At the same time the same names
are resolved with the same configuration from the fresh pod and the node, and with the
probe's own configuration from its own namespace, so that a failure can be placed
(`dns.verdicts`). Every namespace then connects to the pod's addresses: a fair comparison
of the paths, whatever the others' resolvers would have said.

A target the pod cannot resolve is not measured: that target is Inconclusive, with a DNS
hint saying why, and the others are measured as usual. The names of ``spec.dns`` are
resolved the same way and only reported.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Final

from nethealth.probe import netns, types
from nethealth.probe.dns import lookup, resolvconf, verdicts

# What all resolutions may take together: capped per query and round (`lookup`), a dead
# server costs one query's wait; a live one answers in milliseconds.
WAIT: Final = 25.0
OWN_NETNS: Final = "/proc/self/ns/net"
OWN: Final = "own"  # the probe's own resolver, beside the roles' values


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resolved:
    endpoints: tuple[types.Endpoint, ...]  # what to connect to, in target order
    unmeasured: tuple[types.TargetVerdict, ...]  # targets the pod cannot resolve
    dns: tuple[types.DnsVerdict, ...]  # every name resolved with the pod's resolver


def literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(
    *,
    targets: Sequence[types.Target],
    dns_names: Sequence[str],
    pod_conf: resolvconf.ResolvConf,
    own_conf: resolvconf.ResolvConf,
    namespaces: Mapping[types.Role, str],
    pod_hosts: Mapping[str, tuple[str, ...]] | None = None,
    own_hosts: Mapping[str, tuple[str, ...]] | None = None,
) -> Resolved:
    """Resolve the targets' names and ``dns_names`` everywhere (see the module docstring);
    a name in the pod's hosts file (``pod_hosts``) is answered from it, as it would be."""
    names = list(dict.fromkeys([*(t.host for t in targets if not literal(t.host)), *dns_names]))
    found = _everywhere(
        names,
        pod=(pod_conf, dict(pod_hosts or {})),
        own=(own_conf, dict(own_hosts or {})),
        namespaces=namespaces,
    )
    own = found.pop(OWN, {})
    by_role = {types.Role(role): results for role, results in found.items()}
    pod = by_role.get(types.Role.TARGET, {})
    by_name = {
        name: verdicts.judge(
            name=name,
            target=next((t.name for t in targets if t.host == name), None),
            by_role={role: results[name] for role, results in by_role.items() if name in results},
            own=own.get(name),
            servers=pod_conf.nameservers,
        )
        for name in names
        if name in pod
    }
    endpoints: list[types.Endpoint] = []
    unmeasured: list[types.TargetVerdict] = []
    for target in targets:
        addresses = _addresses(target, pod)
        if addresses:
            endpoints += [
                types.Endpoint(name=target.name, address=a, port=target.port) for a in addresses
            ]
        else:
            unmeasured.append(_unmeasured(target, by_name.get(target.host)))
    return Resolved(
        endpoints=tuple(endpoints), unmeasured=tuple(unmeasured), dns=tuple(by_name.values())
    )


Config = tuple[resolvconf.ResolvConf, dict[str, tuple[str, ...]]]  # resolv.conf, hosts


def _everywhere(
    names: Sequence[str],
    *,
    pod: Config,
    own: Config,
    namespaces: Mapping[types.Role, str],
) -> dict[str, dict[str, types.Resolution]]:
    """Each place's resolutions by name (places: the roles' values and `OWN`); a place that
    could not resolve at all is left out, and the comparison says it is missing."""
    if not names:
        return {}
    plan = {role.value: (path, pod) for role, path in namespaces.items()}
    plan[OWN] = (OWN_NETNS, own)
    children = {
        where: netns.spawn(path, lookup.resolve_all, list(names), dataclasses.asdict(conf), hosts)
        for where, (path, (conf, hosts)) in plan.items()
    }
    found: dict[str, dict[str, types.Resolution]] = {}
    try:
        for where, child in children.items():
            try:
                raw = child.wait(timeout=WAIT)
            except netns.NetnsError:
                continue
            found[where] = {r["name"]: types.Resolution.from_dict(r) for r in raw}
    finally:
        for child in children.values():
            child.close()
    return found


def _addresses(target: types.Target, pod: Mapping[str, types.Resolution]) -> tuple[str, ...]:
    """A literal as it is; a name: the pod's first address of each family."""
    if literal(target.host):
        return (target.host,)
    resolution = pod.get(target.host)
    if resolution is None or not resolution.ok:
        return ()
    v4 = [a for a in resolution.addresses if ":" not in a][:1]
    v6 = [a for a in resolution.addresses if ":" in a][:1]
    return (*v4, *v6)


def _unmeasured(target: types.Target, verdict: types.DnsVerdict | None) -> types.TargetVerdict:
    pod = verdict.by_role.get(types.Role.TARGET) if verdict is not None else None
    why = f"{pod.status} ({pod.detail})" if pod is not None else "the pod's resolver was not asked"
    return types.TargetVerdict(
        target=target.name,
        klass=types.ProbeClass.INCONCLUSIVE,
        reason=f"{target.name}: not measured: {target.host} does not resolve in the pod: {why}",
        attempts=0,
        failures=0,
        blocks=0,
    )
