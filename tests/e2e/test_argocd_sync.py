"""The users' real flow: the operator's Helm chart and a check are installed by Argo CD
Applications (as ``examples/argocd/``), both end Synced and Healthy, and the check stays
Synced — with no sync of Argo CD's own — while the operator writes its status run after
run.

The chart's Application renders ``charts/nethealth-operator`` with ``helm template`` in
the real repo server and confines the release to the test's namespace. It skips the
chart's CRD (``skipCrds``): the CRD is cluster-wide and shared with every other test here,
and deleting this Application deletes what it synced.
"""

from __future__ import annotations

import pathlib
import time

import argocd_flow as f
import argocd_harness as a
import operator_harness as h
import pytest

from nethealth.devcluster import images

pytestmark = [pytest.mark.e2e, pytest.mark.argocd]

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "nethealth-operator"
# Status writes to watch the check through: each run writes it at least once.
STATUS_WRITES = 3


def test_the_chart_and_a_check_synced_by_argo_cd_stay_synced_and_healthy_across_status_writes(
    api_client, namespace, argocd_apps
):
    h.install_crd(api_client)
    argocd = argocd_apps.argocd
    repository, tag = images.NETHEALTH_IMAGE.rsplit(":", 1)
    argocd_apps.push("operator", {}, message="the chart", tree=CHART)
    operator_app = argocd_apps.create(
        "operator",
        helm={
            "releaseName": f"nh-{namespace.removeprefix('t-')}",
            "skipCrds": True,
            "valuesObject": {
                "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
                "operator": {"watchNamespaces": [namespace]},
            },
        },
        sync_policy={
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["ServerSideApply=true"],
        },
    )
    flow = f.start(argocd_apps, api_client, f.manifests(remediation={"mode": "DryRun"}))

    argocd.wait(
        operator_app,
        until=lambda o: a.sync_status(o) == "Synced" and a.health_status(o) == "Healthy",
        timeout=f.SYNC_TIMEOUT,
        what="the chart Synced and Healthy",
    )
    app = flow.wait(
        lambda o: a.sync_status(o) == "Synced" and a.health_status(o) == "Healthy",
        what="the check Synced and Healthy",
        timeout=f.RUN_TIMEOUT,
    )
    assert flow.check_health(app) == "Healthy"
    syncs = f.sync_count(app)

    # Every second: the Application and the check; until the check's status was written
    # STATUS_WRITES more times, by the chart's operator.
    versions: set[str] = set()
    seen: set[tuple[str | None, str | None]] = set()
    deadline = time.monotonic() + (STATUS_WRITES + 1) * f.INTERVAL_SECONDS + 30
    while len(versions) <= STATUS_WRITES:
        assert time.monotonic() < deadline, f"only {len(versions)} status writes"
        check = h.read_check(api_client, namespace=namespace, name=f.CHECK)
        versions.add(check["metadata"]["resourceVersion"])
        app = argocd.read(flow.app)
        seen.add((a.sync_status(app), flow.check_health(app)))
        time.sleep(1)
    print(f"\nFIGURE argocd: {len(versions)} status writes of the check, Application {seen}")
    assert seen == {("Synced", "Healthy")}
    assert f.sync_count(argocd.read(flow.app)) == syncs
    # Only the status changed: the operator never touched the check's spec or metadata.
    assert check["metadata"]["generation"] == 1
