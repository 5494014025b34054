"""Pure: where the fault lies, per target, from *which namespaces fail* to reach it.

The namespaces are compared on the same node at the same time, target by target:

    target   control (fresh pod)       host              class
    ok       -                         -                 Healthy
    fails    clearly less              any               PodNamespace  (the seed: only this
                                                                        pod, refused in its
                                                                        own namespace)
    fails    clearly less              any               Filtered      (only this pod, but
                                                                        beyond its namespace)
    fails    about as often, failing   clearly less      NodeNetwork   (the node's pod
                                                                        plumbing)
    fails    about as often, failing   about as often    Upstream      (destination or the
                                                                        path beyond)
    fails    about as often, not       any               Inconclusive  (too close to call)
             failing by itself
    fails    missing                   any               Inconclusive  (pod vs node cannot be
                                                                        told)
    fails    shares it                 missing           Inconclusive  (node vs upstream)

"Fails" is `stats.Tally.failing`: clearly above a healthy path's background loss.
"Clearly less" is a *paired* comparison (`stats.worse`): the attempts of all namespaces
are scheduled on the same slots, so a slot in which the target failed and the control got
through is the target's alone, and a slot in which both failed is shared. The target is
blamed when not one of the control's connects failed, or when the slots only it failed
outnumber those only the control failed beyond chance (McNemar's exact test). Loss that
every namespace shares (a lossy uplink: 8-10 % everywhere) fails both at about the same
rate, so it is never the pod's; two separate tests ("the target fails, the control does
not") blamed the pod whenever the control's share happened to fall below significance.

When only the target fails, *how* tells the two pod classes apart: a connect the kernel
refused at once, before any packet left (`types.Attempt.local`: a route, rule or cached
route of the pod's own namespace), is the pod's namespace; a timeout, reset or refusal
from the path or the peer is something that filters this pod's traffic (a NetworkPolicy
selects the pod, not the probe's fresh pod). Only the local failures count towards
PodNamespace: moving a pod to the node's network gets around a policy, and that is never
a cure.

Each target gets its own verdict (`types.TargetVerdict`), with the counts a judgement of
the pod rests on: for the pod's classes and Healthy, the target pod's attempts without
the slots in which the control failed as well (failures both share are not the pod's);
for the others, all of its attempts. The run's class is the most local fault over all targets
(PodNamespace > Filtered > NodeNetwork > Upstream), since a fault closer to the pod is
the one the operator can act on; a target that could not be measured at all does not
make the run Inconclusive while another target was. The reason says, per target, who
failed how, so that a person can check the verdict against the numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
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
FAULTS: Final = frozenset(_PRECEDENCE[:4])
# The targets whose counts speak about the pod: the operator judges these, and not a target
# every namespace fails (Upstream) or one the probe could not place (Inconclusive).
JUDGED: Final = frozenset(_PRECEDENCE) - {types.ProbeClass.UPSTREAM, types.ProbeClass.INCONCLUSIVE}
_ROLE_WORDS: Final = {
    types.Role.TARGET: "the target pod",
    types.Role.CONTROL: "a fresh pod",
    types.Role.HOST: "the host",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Judgement:
    """The run's class and reason, and each target's verdict."""

    klass: types.ProbeClass
    reason: str
    targets: tuple[types.TargetVerdict, ...] = ()

    @property
    def at_fault(self) -> tuple[str, ...]:
        """The targets whose class is the run's (when that is a fault)."""
        if self.klass not in FAULTS:
            return ()
        return tuple(v.target for v in self.targets if v.klass is self.klass)


def judge(
    *,
    by_role: dict[types.Role, types.Measurement],
    min_attempts: int,
    local_cause: str | None = None,
    unmeasured: Sequence[types.TargetVerdict] = (),
) -> Judgement:
    """The class of the most local fault over all targets, the reason, and per target.
    ``local_cause``: evidence in the pod's own namespace that explains failures the
    kernel did not refuse at once (its gateway's neighbour entry failed); ``unmeasured``:
    verdicts on targets that were not measured (their names do not resolve in the pod)."""
    target = by_role.get(types.Role.TARGET)
    if target is None:
        return Judgement(
            klass=types.ProbeClass.INCONCLUSIVE, reason="the target namespace was not measured"
        )
    if target.error:
        return Judgement(
            klass=types.ProbeClass.INCONCLUSIVE,
            reason=f"the target namespace was not measured: {target.error}",
        )
    names = _target_names(by_role.values())
    if not names or not target.attempts:
        if unmeasured:
            return summarize(unmeasured, min_attempts=min_attempts)
        return Judgement(
            klass=types.ProbeClass.INCONCLUSIVE,
            reason="no connect attempts were made in the target namespace",
        )
    verdicts = tuple(
        _target_verdict(name, by_role=by_role, min_attempts=min_attempts, local_cause=local_cause)
        for name in names
    )
    return summarize((*verdicts, *unmeasured), min_attempts=min_attempts)


def with_names(judged: Judgement, *, dns: Sequence[types.DnsVerdict]) -> Judgement:
    """The run's class over its targets and the names resolved with the pod's resolver:
    a name only the pod cannot resolve is as much the pod's fault as a refused connect."""
    faults = [(d.klass, d.reason) for d in dns if d.klass in FAULTS]
    if not faults:
        return judged
    found = [(judged.klass, judged.reason), *faults]
    klass = min((k for k, _ in found), key=_PRECEDENCE.index)
    reason = "; ".join(why for k, why in found if k is klass and why)
    return dataclasses.replace(judged, klass=klass, reason=reason)


def summarize(verdicts: Sequence[types.TargetVerdict], *, min_attempts: int) -> Judgement:
    """The run's class over its targets' verdicts (see the module docstring)."""
    measured = [v for v in verdicts if v.attempts >= min_attempts] or list(verdicts)
    klass = min((v.klass for v in measured), key=_PRECEDENCE.index)
    relevant = [v.reason for v in measured if v.klass is klass]
    return Judgement(klass=klass, reason="; ".join(relevant), targets=tuple(verdicts))


def _target_names(measurements: Iterable[types.Measurement]) -> list[str]:
    names: dict[str, None] = {}
    for measurement in measurements:
        for attempt in measurement.attempts:
            names.setdefault(attempt.target, None)
    return list(names)


def _target_verdict(
    name: str,
    *,
    by_role: dict[types.Role, types.Measurement],
    min_attempts: int,
    local_cause: str | None = None,
) -> types.TargetVerdict:
    """One row of the table above, for one target."""
    series = {
        role: tuple(a for a in m.attempts if a.target == name)
        for role, m in by_role.items()
        if not m.error
    }
    mine = series[types.Role.TARGET]
    tallies = {role: stats.tally(attempts) for role, attempts in series.items()}
    target = tallies[types.Role.TARGET]
    control = _usable(tallies.get(types.Role.CONTROL), min_attempts=min_attempts)
    host = _usable(tallies.get(types.Role.HOST), min_attempts=min_attempts)
    verdict = _Verdict(name=name, mine=mine, control=series.get(types.Role.CONTROL, ()))
    if target.attempts < min_attempts:
        return verdict.make(
            types.ProbeClass.INCONCLUSIVE,
            f"{name}: only {target.attempts} attempts in the target namespace,"
            f" at least {min_attempts} are needed to tell failure from noise",
        )
    if not target.failing:
        return verdict.make(
            types.ProbeClass.HEALTHY, f"{name}: {_describe(types.Role.TARGET, target)}"
        )
    said = ", ".join(
        _describe(role, t)
        for role, t in ((types.Role.TARGET, target), (types.Role.CONTROL, control),
                        (types.Role.HOST, host))
        if t
    )  # fmt: skip
    suspect = not any(t is not None and t.failing for t in (control, host))
    if control is None:
        missing = _why_missing(
            types.Role.CONTROL, by_role=by_role, tallies=tallies, min_attempts=min_attempts
        )
        return verdict.make(
            types.ProbeClass.INCONCLUSIVE,
            f"{name}: {said}; {missing}, so a pod fault cannot be told from a node fault",
        )
    vs_control = stats.pair(mine, verdict.control)
    if stats.worse(pairs=vs_control, theirs=control):
        return verdict.blame(
            said=said, local_cause=local_cause, shared=vs_control.both, suspect=suspect
        )
    if not control.failing:
        return verdict.make(
            types.ProbeClass.INCONCLUSIVE,
            f"{name}: {said}: the target pod fails, but not clearly more than a fresh pod"
            f" ({vs_control.mine_only} slots failed only in the target pod,"
            f" {vs_control.theirs_only} only in the fresh pod): too close to tell where",
            suspect=suspect,
        )
    if host is None:
        missing = _why_missing(
            types.Role.HOST, by_role=by_role, tallies=tallies, min_attempts=min_attempts
        )
        return verdict.make(
            types.ProbeClass.INCONCLUSIVE,
            f"{name}: {said}; {missing}, so a node fault cannot be told from an upstream one",
        )
    vs_host = stats.pair(mine, series[types.Role.HOST])
    if not host.failing or stats.worse(pairs=vs_host, theirs=host):
        return verdict.make(
            types.ProbeClass.NODE_NETWORK,
            f"{name}: {said}: pods on this node fail, the node itself does not",
        )
    return verdict.make(types.ProbeClass.UPSTREAM, f"{name}: {said}: every namespace fails")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Verdict:
    """Builds one target's verdict with the counts its class calls for."""

    name: str
    mine: tuple[types.Attempt, ...]
    control: tuple[types.Attempt, ...]

    def make(
        self,
        klass: types.ProbeClass,
        reason: str,
        *,
        counted: Sequence[types.Attempt] | None = None,
        suspect: bool = False,
    ) -> types.TargetVerdict:
        if counted is None:
            counted = self.unshared() if klass is types.ProbeClass.HEALTHY else self.mine
        counts = stats.tally(counted)
        return types.TargetVerdict(
            target=self.name,
            klass=klass,
            reason=reason,
            attempts=counts.attempts,
            failures=counts.failures,
            blocks=len(stats.blocks(counted)),
            suspect=suspect,
        )

    def unshared(self) -> list[types.Attempt]:
        return stats.unshared(self.mine, self.control)

    def blame(
        self, *, said: str, local_cause: str | None, shared: int, suspect: bool
    ) -> types.TargetVerdict:
        """Only the target pod fails: its own namespace, or something filtering it."""
        counted = self.unshared()
        refused = stats.tally(a for a in counted if a.ok or a.local)
        besides = f" ({shared} failures shared with a fresh pod are not counted)" if shared else ""
        if refused.failing:
            klass = types.ProbeClass.POD_NAMESPACE
            why = "only the target pod fails, refused in its own namespace"
        elif local_cause is not None:
            klass, why = types.ProbeClass.POD_NAMESPACE, f"only the target pod fails: {local_cause}"
        else:
            klass = types.ProbeClass.FILTERED
            why = (
                "only the target pod fails, beyond its own namespace: its traffic is filtered"
                " (a NetworkPolicy selecting it, or a firewall)"
            )
        reason = f"{self.name}: {said}: {why}{besides}"
        return self.make(klass, reason, counted=counted, suspect=suspect)


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
