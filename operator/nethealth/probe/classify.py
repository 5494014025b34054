"""Pure: measurements + evidence + kernel -> where the fault lies, and ranked hints.

Two questions with separate answers: *where* (the class, from which namespaces fail:
`classes`) and *why* (hints from the evidence, each rule scored and ranked: `hints`).
The class is decided first because some hints weigh what they see by it (errors from
the path mean more when every namespace fails).
"""

from __future__ import annotations

from collections.abc import Sequence

from nethealth.probe import classes, types
from nethealth.probe.hints import context, paths, ranking


def classify(
    *,
    measurements: Sequence[types.Measurement],
    evidence: types.Evidence | None,
    kernel: types.KernelAssessment | None,
    min_attempts: int = classes.MIN_ATTEMPTS,
    unmeasured: Sequence[types.TargetVerdict] = (),
    dns: Sequence[types.DnsVerdict] = (),
) -> types.Verdict:
    """Where the fault lies, why we think so, and ranked hints at the cause.
    ``unmeasured``: targets whose names the pod could not resolve; ``dns``: every name
    resolved with the pod's resolver (`probe.resolving`)."""
    by_role = {m.role: m for m in measurements}
    judged = classes.judge(
        by_role=by_role,
        min_attempts=min_attempts,
        local_cause=paths.failed_gateway(evidence),
        unmeasured=unmeasured,
    )
    judged = classes.with_names(judged, dns=dns)
    ctx = context.Context(
        klass=judged.klass,
        target=by_role.get(types.Role.TARGET),
        others={r: m for r, m in by_role.items() if r != types.Role.TARGET},
        evidence=evidence,
        kernel=kernel,
        at_fault=judged.at_fault,
        dns=tuple(dns),
    )
    return types.Verdict(
        klass=judged.klass,
        reason=judged.reason,
        hints=ranking.rank(ctx),
        targets=judged.targets,
        dns=tuple(dns),
    )
