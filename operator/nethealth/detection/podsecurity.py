"""Pure: a probe pod that Pod Security admission refused, as a verdict a person can act on.

The probe needs ``hostPID``, uid 0, ``CAP_SYS_ADMIN`` and ``CAP_SYS_PTRACE``: only the
``privileged`` level admits it. In a namespace whose ``pod-security.kubernetes.io/enforce``
label says ``baseline`` or ``restricted`` the Job controller's pod create fails, the Job
records a ``FailedCreate`` Event ("violates PodSecurity ...") and no pod is measured. The
check then says so on ``Ready`` (``ProbeRefusedByPodSecurity``) with the level and the two
ways out; and the loop backs off (``delay``): every run would only be refused again.

Exempting the operator's service account in the PodSecurity admission configuration does
*not* help: the pods are created by the Job controller (``system:serviceaccount:kube-system:
job-controller``), and exempting that would exempt every Job's pods. What helps is the
namespace label ``pod-security.kubernetes.io/enforce=privileged``, or the namespace listed
under ``exemptions.namespaces`` in the API server's PodSecurity admission configuration.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Final

from nethealth import model
from nethealth.detection import acceptance, results

MAX_DELAY: Final = datetime.timedelta(minutes=30)
_VIOLATES = re.compile(r'violates PodSecurity "(?P<level>[a-z]+)(?::(?P<version>[\w.]+))?"')


def refused_namespaces(outcomes: Mapping[str, results.Outcome]) -> dict[str, str]:
    """Namespace -> the enforced level, where Pod Security refused this run's probe pod."""
    found: dict[str, str] = {}
    for key, outcome in sorted(outcomes.items()):
        if outcome.why is not results.Why.NOT_CREATED:
            continue
        match = _VIOLATES.search(outcome.run.reason or "")
        if match is not None:
            found.setdefault(key.split("/", 1)[0], match["level"])
    return found


def refusal(outcomes: Mapping[str, results.Outcome]) -> acceptance.Acceptance | None:
    """``ProbeRefusedByPodSecurity`` naming the namespace, its level and the way out."""
    refused = refused_namespaces(outcomes)
    if not refused:
        return None
    namespace, level = next(iter(refused.items()))
    others = f" (and {len(refused) - 1} more namespaces)" if len(refused) > 1 else ""
    return acceptance.Acceptance(
        ready=False,
        reason=model.Reason.PROBE_REFUSED_BY_POD_SECURITY,
        message=(
            f"namespace {namespace!r}{others} enforces Pod Security {level!r}: the probe pod"
            " (hostPID, uid 0, CAP_SYS_ADMIN, CAP_SYS_PTRACE) needs 'privileged', so no pod"
            " there is measured. Label the namespace"
            " pod-security.kubernetes.io/enforce=privileged, or exempt it under"
            " exemptions.namespaces in the API server's PodSecurity admission configuration"
            " (exempting the operator's service account does not help: the Job controller"
            " creates the pods). Runs back off while refused"
        ),
    )


def delay(*, interval: datetime.timedelta, refusals: int) -> datetime.timedelta:
    """Time between runs after ``refusals`` refused runs in a row: the interval, doubled
    for each, at most ``MAX_DELAY`` (never below the interval)."""
    if refusals <= 0:
        return interval
    doubled: datetime.timedelta = interval * (2 ** min(refusals, 16))
    return max(interval, min(doubled, MAX_DELAY))
