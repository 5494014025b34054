"""``argocd/health.lua``, installed in ``argocd-cm`` as the docs say, in a real Argo CD: the
Application's health follows its check through the check's life — Progressing before the
operator's first run, Healthy once the pod is measured healthy, Degraded while a pod is
(an injected fault), Healthy again once the workload's move to the node's network is
verified — and through all of it the operator's status writes and its remediation leave
the Application Synced, with no sync of Argo CD's own.
"""

from __future__ import annotations

import time

import argocd_flow as f
import argocd_harness as a
import operator_harness as h
import pytest

from nethealth.testing import faults

pytestmark = [pytest.mark.e2e, pytest.mark.argocd]


def test_the_application_health_follows_the_check_from_progressing_to_degraded_to_remediated(
    cluster, api_client, namespace, argocd_apps, tmp_path
):
    h.install_crd(api_client)
    flow = f.start(argocd_apps, api_client, f.manifests())

    # Synced, the operator not yet running: the check has no status.
    app = flow.wait(
        lambda o: a.sync_status(o) == "Synced" and flow.check_health(o) is not None,
        what="Synced, the check's health known",
    )
    assert flow.check_health(app) == "Progressing"
    assert a.health_status(app) == "Progressing"
    syncs = f.sync_count(app)

    with h.operator(
        kubeconfig=cluster.kubeconfig, log=tmp_path / "operator.log", namespaces=(namespace,)
    ):
        pod = h.running_pod(api_client, namespace=namespace, app=f.WORKLOAD, host_network=False)
        flow.check.pod_reaches(
            pod=pod["metadata"]["name"], state="Healthy", timeout=f.RUN_TIMEOUT, what="measured"
        )
        app = flow.wait(lambda o: a.health_status(o) == "Healthy", what="Healthy")
        assert flow.check_health(app) == "Healthy"

        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            faulted = time.monotonic()
            app = flow.wait(
                lambda o: a.health_status(o) == "Degraded",
                what="Degraded under the fault",
                timeout=f.RUN_TIMEOUT,
            )
            print(f"\nFIGURE argocd: Degraded {time.monotonic() - faulted:.0f} s after the fault")
            assert flow.check_health(app) == "Degraded"
            assert a.sync_status(app) == "Synced"
            flow.check.remediation_reaches(
                workload=f.WORKLOAD, state="Verifying", timeout=f.RUN_TIMEOUT
            )
        verified = flow.check.remediation_reaches(
            workload=f.WORKLOAD, state="Remediated", timeout=f.RUN_TIMEOUT
        )
        assert h.condition(verified, "Remediated")["status"] == "True"
        app = flow.wait(
            lambda o: a.health_status(o) == "Healthy", what="Healthy after the verified move"
        )
        print(f"\nFIGURE argocd: Healthy again {time.monotonic() - faulted:.0f} s after the fault")
        # The manifest leaves hostNetwork and dnsPolicy out: the move is no drift, and
        # Argo CD synced nothing of its own through all of the operator's writes.
        assert a.sync_status(app) == "Synced"
        assert f.sync_count(app) == syncs
        spec = flow.workload()["spec"]["template"]["spec"]
        assert (spec["hostNetwork"], spec["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
        argocd_apps.cleanup(release=lambda: None)
