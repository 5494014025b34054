"""Pure: whether a NetHealthCheck can run here, and the status that says so.

A check is refused (``Ready=False``) when its spec fails the model's checks, or when it
asks for a ``namespaceSelector`` outside the operator's own namespace: only an
administrator, who controls that namespace, may reach into other namespaces. After a run,
a target that the probe could not resolve also makes the check not Ready: the spec names
something that does not exist (from where the probe stands), which no pod can fix.

Only that last verdict needs a run, so it outlives the run that made it: when the spec
changes (or the operator restarts) and still holds the target the status names, with the
same host, ``judge`` keeps ``TargetUnresolvable`` until a run measures again. Saying
``Ready`` in between would tell people and Argo CD, for one interval, that an edit which
did not touch the target fixed it (and post the Warning Event again when the next run
says otherwise).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from nethealth import model
from nethealth.detection import imagerefs, results
from nethealth.probe import shorten

# The start of a TargetUnresolvable message (``after_run``), read back from status.
_UNRESOLVABLE_MESSAGE = re.compile(
    r"spec\.targets(?:\[\d+\]\.host)? '(?P<host>[^']+)' \(target '(?P<name>[^']+)'\)"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Acceptance:
    ready: bool
    reason: model.Reason
    message: str
    # On a TargetUnresolvable verdict kept from an earlier run: the verdict once a run
    # measures again (a measurement needs every target resolved).
    once_resolved: Acceptance | None = None


def refuse_image(*, check: model.NetHealthCheck, allowed: frozenset[str]) -> Acceptance | None:
    """A ``spec.probe.image`` the operator was not told to trust: the probe runs as root
    with hostPID and CAP_SYS_ADMIN on the node, so whoever may create a check must not
    choose what runs there. None when the check uses the operator's image or a listed one
    (an entry by digest admits any reference with that digest: ``imagerefs``)."""
    image = check.spec.probe.image
    if image is None or imagerefs.allowed(image, allowlist=allowed):
        return None
    listed = ", ".join(sorted(allowed)) or "none"
    return Acceptance(
        ready=False,
        reason=model.Reason.PROBE_IMAGE_NOT_ALLOWED,
        message=(
            f"spec.probe.image {image!r} is not allowed: the probe runs privileged on the"
            f" node; allowed are the operator's probe image and NETHEALTH_ALLOWED_PROBE_IMAGES"
            f" ({listed}); remove the field or ask an administrator to list the image"
        ),
    )


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
    running = Acceptance(
        ready=True,
        reason=model.Reason.RUNNING,
        message=f"{selected_pods} pod(s) selected",
    )
    return _still_unresolvable(check, once_resolved=running) or running


def _still_unresolvable(
    check: model.NetHealthCheck, *, once_resolved: Acceptance
) -> Acceptance | None:
    """The status's TargetUnresolvable verdict, if the spec still has that target as it
    was; None otherwise (a changed or removed target is for the next run to judge)."""
    ready = next((c for c in check.status.conditions if c.type == model.ConditionType.READY), None)
    if ready is None or ready.reason != model.Reason.TARGET_UNRESOLVABLE:
        return None
    named = _UNRESOLVABLE_MESSAGE.match(ready.message)
    if named is None:
        return None
    if not any(t.name == named["name"] and t.host == named["host"] for t in check.spec.targets):
        return None
    return Acceptance(
        ready=False,
        reason=model.Reason.TARGET_UNRESOLVABLE,
        message=ready.message,
        once_resolved=once_resolved,
    )


def after_run(
    *,
    verdict: Acceptance,
    check: model.NetHealthCheck,
    outcomes: Mapping[str, results.Outcome],
) -> Acceptance:
    """The verdict, or ``TargetUnresolvable`` naming ``spec.targets[i].host`` when a probe
    of this run could not resolve that target (the pods stay as they were: Inconclusive).

    A TargetUnresolvable verdict kept from an earlier run ends with the first measurement;
    a run that measured nothing (every probe inconclusive for other reasons) keeps it."""
    if not verdict.ready and verdict.once_resolved is None:
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
                f" measuring pod {key}: {shorten.chars(found.error, limit=200)}; no pod is"
                " measured until it resolves (use a name the cluster's DNS knows, or an IP address)"
            ),
        )
    if verdict.once_resolved is not None and any(not o.inconclusive for o in outcomes.values()):
        return verdict.once_resolved
    return verdict


def invalid(error: model.SpecError) -> Acceptance:
    return Acceptance(ready=False, reason=model.Reason.INVALID_SPEC, message=str(error))
