"""Pure: where the fault lies, from *which namespaces fail* to reach each target.

The namespaces are compared on the same node at the same time:

    target   control (fresh pod)   host      class
    ok       -                     -         Healthy
    fails    ok                    any       PodNamespace  (the seed: only this pod, and its
                                                            own namespace refuses the connect)
    fails    ok                    any       Filtered      (only this pod, but beyond its
                                                            namespace: timeouts, refusals)
    fails    fails                 ok        NodeNetwork   (the node's pod plumbing)
    fails    fails                 fails     Upstream      (destination or the path beyond)
    fails    missing               any       Inconclusive  (pod vs node cannot be told)
    fails    fails                 missing   Inconclusive  (node vs upstream cannot be told)

"Fails" is `stats.Tally.failing`: clearly above a healthy path's background loss. When
only the target fails, *how* tells the two pod classes apart: a connect the kernel refused
at once, before any packet left (`types.Attempt.local`: a route, rule or cached route of
the pod's own namespace), is the pod's namespace; a timeout, reset or refusal from the
path or the peer is something that filters this pod's traffic (a NetworkPolicy selects
the pod, not the probe's fresh pod). Only the local failures count towards PodNamespace:
moving a pod to the node's network gets around a policy, and that is never a cure. With
several targets the most local fault wins (PodNamespace > Filtered > NodeNetwork >
Upstream), since a fault closer to the pod is the one the operator can act on. The reason says, per
target, who failed how, so that a person can check the verdict against the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from nethealth.probe import stats, types

# Fewer attempts than this cannot tell a failure from a healthy path's background loss.
MIN_ATTEMPTS: Final = 10

_PRECEDENCE: Final = (
    types.ProbeClass.POD_NAMESPACE,
    types.ProbeClass.FILTERED,
    types.ProbeClass.NODE_NETWORK,
    types.ProbeClass.UPSTREAM,
    types.ProbeClass.INCONCLUSIVE,
    types.ProbeClass.HEALTHY,
)
_ROLE_WORDS: Final = {
    types.Role.TARGET: "the target pod",
    types.Role.CONTROL: "a fresh pod",
    types.Role.HOST: "the host",
}


def judge(
    *,
    by_role: dict[types.Role, types.Measurement],
    min_attempts: int,
    local_cause: str | None = None,
) -> tuple[types.ProbeClass, str]:
    """The class of the most local fault over all targets, and the reason for it.
    ``local_cause``: evidence in the pod's own namespace that explains failures the
    kernel did not refuse at once (its gateway's neighbour entry failed)."""
    target = by_role.get(types.Role.TARGET)
    if target is None:
        return types.ProbeClass.INCONCLUSIVE, "the target namespace was not measured"
    if target.error:
        return (
            types.ProbeClass.INCONCLUSIVE,
            f"the target namespace was not measured: {target.error}",
        )
    names = _target_names(by_role.values())
    if not names or not target.attempts:
        return (
            types.ProbeClass.INCONCLUSIVE,
            "no connect attempts were made in the target namespace",
        )
    verdicts = [
        _target_class(name, by_role=by_role, min_attempts=min_attempts, local_cause=local_cause)
        for name in names
    ]
    klass = min((k for k, _ in verdicts), key=_PRECEDENCE.index)
    relevant = [why for k, why in verdicts if k == klass]
    return klass, "; ".join(relevant)


def _target_names(measurements: Iterable[types.Measurement]) -> list[str]:
    names: dict[str, None] = {}
    for measurement in measurements:
        for attempt in measurement.attempts:
            names.setdefault(attempt.target, None)
    return list(names)


def _target_class(
    name: str,
    *,
    by_role: dict[types.Role, types.Measurement],
    min_attempts: int,
    local_cause: str | None = None,
) -> tuple[types.ProbeClass, str]:
    """One row of the table above, for one target."""
    tallies = {
        role: stats.tally(a for a in m.attempts if a.target == name)
        for role, m in by_role.items()
        if not m.error
    }
    # The target's connects with only the local refusals counted as failures.
    refused = stats.tally(
        a for a in by_role[types.Role.TARGET].attempts if a.target == name and (a.ok or a.local)
    )
    target = tallies[types.Role.TARGET]
    if target.attempts < min_attempts:
        return types.ProbeClass.INCONCLUSIVE, (
            f"{name}: only {target.attempts} attempts in the target namespace,"
            f" at least {min_attempts} are needed to tell failure from noise"
        )
    if not target.failing:
        return types.ProbeClass.HEALTHY, f"{name}: {_describe(types.Role.TARGET, target)}"
    control = _usable(tallies.get(types.Role.CONTROL), min_attempts=min_attempts)
    host = _usable(tallies.get(types.Role.HOST), min_attempts=min_attempts)
    said = [_describe(types.Role.TARGET, target)]
    said += [
        _describe(role, t)
        for role, t in ((types.Role.CONTROL, control), (types.Role.HOST, host))
        if t
    ]
    if control is None:
        missing = _why_missing(
            types.Role.CONTROL, by_role=by_role, tallies=tallies, min_attempts=min_attempts
        )
        return types.ProbeClass.INCONCLUSIVE, (
            f"{name}: {', '.join(said)}; {missing}, so a pod fault cannot be told from a node fault"
        )
    if not control.failing:
        if refused.failing:
            return (
                types.ProbeClass.POD_NAMESPACE,
                f"{name}: {', '.join(said)}: only the target pod fails, refused in its own"
                " namespace",
            )
        if local_cause is not None:
            return (
                types.ProbeClass.POD_NAMESPACE,
                f"{name}: {', '.join(said)}: only the target pod fails: {local_cause}",
            )
        return (
            types.ProbeClass.FILTERED,
            f"{name}: {', '.join(said)}: only the target pod fails, beyond its own namespace:"
            " its traffic is filtered (a NetworkPolicy selecting it, or a firewall)",
        )
    if host is None:
        missing = _why_missing(
            types.Role.HOST, by_role=by_role, tallies=tallies, min_attempts=min_attempts
        )
        return types.ProbeClass.INCONCLUSIVE, (
            f"{name}: {', '.join(said)}; {missing}, so a node fault cannot be told from an"
            " upstream one"
        )
    if not host.failing:
        return types.ProbeClass.NODE_NETWORK, (
            f"{name}: {', '.join(said)}: pods on this node fail, the node itself does not"
        )
    return types.ProbeClass.UPSTREAM, f"{name}: {', '.join(said)}: every namespace fails"


def _usable(t: stats.Tally | None, *, min_attempts: int) -> stats.Tally | None:
    return t if t is not None and t.attempts >= min_attempts else None


def _why_missing(
    role: types.Role,
    *,
    by_role: dict[types.Role, types.Measurement],
    tallies: dict[types.Role, stats.Tally],
    min_attempts: int,
) -> str:
    measurement = by_role.get(role)
    if measurement is None:
        return f"{_ROLE_WORDS[role]} was not measured"
    if measurement.error:
        return f"{_ROLE_WORDS[role]} could not be measured ({measurement.error})"
    count = tallies[role].attempts
    return f"{_ROLE_WORDS[role]} made only {count} attempts (need {min_attempts})"


def _describe(role: types.Role, t: stats.Tally) -> str:
    text = f"{t.failures}/{t.attempts} failed in {_ROLE_WORDS[role]}"
    if t.errnos:
        top = ", ".join(f"{stats.errno_name(code)} {count}" for code, count in t.errnos[:3])
        text += f" ({top})"
    return text
