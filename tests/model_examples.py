"""Model values the tests of more than one tier build alike: the remediation settings the
remediation tests plan with, and a status with every field set (dumped and parsed back in
tests/unit, stored and shown by the real API server in tests/e2e).

It sits above the tier folders because every tier can import it: pytest puts this folder
on ``sys.path`` for ``tests/conftest.py`` (as it puts each tier's folder there for the
tier's own helpers). A value only one tier uses belongs in that tier's builders.
"""

from __future__ import annotations

import datetime

from nethealth import model
from nethealth.probe import types

# Auto with the hostNetwork fallback, one pod at a time, an hour between two changes of one
# workload, verified, reverted when the check is deleted, not paused.
REMEDIATION = model.Remediation(
    mode=model.RemediationMode.AUTO,
    strategy=model.RemediationStrategy.HOST_NETWORK,
    cooldown=datetime.timedelta(hours=1),
    max_remediated_pods=1,
    revert_on_delete=True,
    verify=True,
    pause_requests=(),
)


def full_status(*, now: datetime.datetime) -> model.Status:
    """A Ready check of two pods at ``now``: web-0 Degraded, its Deployment moved to
    hostNetwork and being verified; kopf's own progress kept as it wrote it."""
    return model.Status(
        observed_generation=1,
        conditions=(
            model.Condition(
                type=model.ConditionType.READY,
                status=model.ConditionStatus.TRUE,
                reason=model.Reason.RUNNING,
                message="probing 2 pods on 1 node every 5m",
                last_transition_time=now,
                observed_generation=1,
            ),
            model.Condition(
                type=model.ConditionType.DEGRADED,
                status=model.ConditionStatus.TRUE,
                reason=model.Reason.PODS_DEGRADED,
                message="web-0: PodNamespace, 48% of connects failed",
                last_transition_time=now,
                observed_generation=1,
            ),
        ),
        pods=(
            model.PodResult(
                name="web-0",
                namespace=None,
                node="node-1",
                state=model.PodState.DEGRADED,
                klass=types.ProbeClass.POD_NAMESPACE,
                failure_rate=0.48,
                samples=60,
                hint="KernelBroadcastRouteCache",
                last_run=now,
            ),
        ),
        summary=model.Summary(
            selected=2, healthy=1, suspect=0, degraded=1, remediated=0, inconclusive=0
        ),
        last_run_time=now,
        next_run_time=now + datetime.timedelta(minutes=5),
        remediation=(
            model.WorkloadResult(
                kind="Deployment",
                namespace="home",
                name="web",
                state=model.WorkloadState.VERIFYING,
                reason=None,
                message="Deployment/home/web: sets hostNetwork: true",
                pods=("home/web-0",),
                patch='{"spec": {"template": {"spec": {"hostNetwork": true}}}}',
                original='{"dnsPolicy": "ClusterFirst", "hostNetwork": null}',
                changed_at=now,
            ),
        ),
        kopf={"progress": {"handler": {"started": "2026-01-01T00:00:00Z"}}},
    )
