"""Pure: whether a NetHealthCheck can run here, and the status that says so.

A check is refused (``Ready=False``) when its spec fails the model's checks, or when it
asks for a ``namespaceSelector`` outside the operator's own namespace: only an
administrator, who controls that namespace, may reach into other namespaces. After a run,
a target that the probe could not resolve also makes the check not Ready: the spec names
something that does not exist (from where the probe stands), which no pod can fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from nethealth import model, results


@dataclasses.dataclass(frozen=True, kw_only=True)
class Acceptance:
    ready: bool
    reason: model.Reason
    message: str


def judge(
    *,
    check: model.NetHealthCheck,
    operator_namespace: str,
    selected_pods: int,
) -> Acceptance:
    if check.spec.namespace_selector is not None and check.namespace != operator_namespace:
        return Acceptance(
            ready=False,
            reason=model.Reason.NAMESPACE_SELECTOR_NOT_ALLOWED,
            message=(
                f"spec.namespaceSelector is honoured only in the operator's namespace"
                f" {operator_namespace!r}; remove it or move this check there"
            ),
        )
    if selected_pods == 0:
        # Not ready: nothing is measured, and saying Ready would hide a selector typo.
        where = ""
        if check.spec.namespace_selector is not None:
            query = check.spec.namespace_selector.as_query()
            where = f" in the namespaces spec.namespaceSelector {query!r} matches"
        return Acceptance(
            ready=False,
            reason=model.Reason.NO_PODS_SELECTED,
            message=(
                f"spec.selector {check.spec.selector.as_query()!r}{where} matches no pod that"
                " can be measured (Running, with an IP, on a Ready node)"
            ),
        )
    return Acceptance(
        ready=True,
        reason=model.Reason.RUNNING,
        message=f"{selected_pods} pod(s) selected",
    )


def after_run(
    *,
    verdict: Acceptance,
    check: model.NetHealthCheck,
    outcomes: Mapping[str, results.Outcome],
) -> Acceptance:
    """The verdict, or ``TargetUnresolvable`` naming ``spec.targets[i].host`` when a probe
    of this run could not resolve that target (the pods stay as they were: Inconclusive)."""
    if not verdict.ready:
        return verdict
    for key, outcome in sorted(outcomes.items()):
        found = results.unresolved(outcome)
        if found is None:
            continue
        index = next((i for i, t in enumerate(check.spec.targets) if t.name == found.name), None)
        field = f"spec.targets[{index}].host" if index is not None else "spec.targets"
        return Acceptance(
            ready=False,
            reason=model.Reason.TARGET_UNRESOLVABLE,
            message=(
                f"{field} {found.host!r} (target {found.name!r}) does not resolve in the probe"
                f" measuring pod {key}: {found.error[:200]}; no pod is measured until"
                " it resolves (use a name the cluster's DNS knows, or an IP address)"
            ),
        )
    return verdict


def invalid(error: model.SpecError) -> Acceptance:
    return Acceptance(ready=False, reason=model.Reason.INVALID_SPEC, message=str(error))
