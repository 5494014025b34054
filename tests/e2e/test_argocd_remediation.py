"""Auto remediation under a real Argo CD with ``selfHeal: true``: the operator moves a
degraded workload to the node's network while Argo CD keeps the workload as Git says.
Each runs with Argo CD's default client-side apply and with ``ServerSideApply=true``.

- Without ``ignoreDifferences``, once Git names ``hostNetwork: false`` and ``dnsPolicy:
  ClusterFirst`` (someone wants the pod network back) Argo CD's sync
  changes the workload back; the operator reports it (``RevertedByOtherManager``, naming
  Argo CD's field manager ``argocd-controller``) and neither of them changes the workload
  again for three probe intervals: no flip-flop.
- With ``ignoreDifferences`` for the two fields (``jsonPointers``) and
  ``RespectIgnoreDifferences=true`` as ``docs/argocd.md`` shows, the same commit leaves the
  fallback in place and the Application Synced; deleting the check (pruned from Git; the
  check annotated ``PruneLast=true``, so that pruning's sync applies the workload before
  the operator's revert-on-delete) still restores the workload, and it stays restored.
- The other form, ``managedFieldsManagers: [nethealth-operator]``, is silently not applied
  by Argo CD 2.14 to a Deployment of Kubernetes >= 1.33: it builds typed values of the live
  object against its compiled Kubernetes 1.31 schema, which lacks
  ``status.terminatingReplicas``, fails, logs that only at debug level ("error building
  typed results") and ignores nothing; the same commit then changes the workload back, as
  without ``ignoreDifferences`` (and the operator reports it and does not fight).
- A sync that changes the check's spec while its remediation is being verified neither
  loses nor repeats the change.
"""

from __future__ import annotations

import time
from typing import Any

import argocd_flow as f
import argocd_harness as a
import operator_harness as h
import pytest

from nethealth import model
from nethealth.remediation import hostnetwork
from nethealth.testing import faults

pytestmark = [pytest.mark.e2e, pytest.mark.argocd]

# The two forms of ignoreDifferences in docs/argocd.md; the first is the example's.
JSON_POINTERS = a.documented_ignore_differences("Deployment")
MANAGED_FIELDS_MANAGERS = {
    "group": "apps",
    "kind": "Deployment",
    "managedFieldsManagers": [hostnetwork.FIELD_MANAGER],
}
AUTOMATED = {"prune": True, "selfHeal": True}
# docs/argocd.md: the check is pruned only after the rest of the sync (the workload's
# apply) is done, so the operator's revert-on-delete comes after that apply.
PRUNE_LAST = {"argocd.argoproj.io/sync-options": "PruneLast=true"}
APPLY = {"client-side": [], "server-side": ["ServerSideApply=true"]}


def _policy(apply: str, *options: str) -> dict[str, Any]:
    return {"automated": AUTOMATED, "syncOptions": [*APPLY[apply], *options]}


QUIET_INTERVALS = 3


def _remediated(flow: f.Flow) -> dict[str, Any]:
    """Degrades the workload's pod under a fault until the operator has moved the workload
    to the node's network and verified it; the workload then."""
    pod = h.running_pod(
        flow.api_client, namespace=flow.namespace, app=f.WORKLOAD, host_network=False
    )
    flow.check.pod_reaches(
        pod=pod["metadata"]["name"], state="Healthy", timeout=f.RUN_TIMEOUT, what="measured"
    )
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        flow.check.remediation_reaches(
            workload=f.WORKLOAD, state="Verifying", timeout=f.RUN_TIMEOUT
        )
    flow.check.remediation_reaches(workload=f.WORKLOAD, state="Remediated", timeout=f.RUN_TIMEOUT)
    workload = flow.workload()
    assert hostnetwork.is_patched(workload)
    return workload


def _managed(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["metadata"].get("managedFields") or ())


def _fields(workload: dict[str, Any]) -> tuple[object, object]:
    spec = hostnetwork.pod_spec(workload)
    return spec.get("hostNetwork", False), spec.get("dnsPolicy")


@pytest.mark.parametrize("apply", sorted(APPLY))
def test_self_heal_without_ignore_differences_reverts_once_and_neither_side_fights(
    api_client, namespace, operator_for, argocd_apps, apply
):
    flow = f.start(argocd_apps, api_client, f.manifests(), sync_policy=_policy(apply))
    flow.wait(lambda o: a.sync_status(o) == "Synced", what="Synced")
    _remediated(flow)

    # Someone wants the pod network back and says so in Git: the sync applies it.
    _assert_changed_back_and_not_fought(flow, what=f"self-heal ({apply})")


def _assert_changed_back_and_not_fought(flow: f.Flow, *, what: str) -> None:
    """Pushes the commit that names the pod network's values: Argo CD's sync applies them,
    the operator reports the change-back naming Argo CD's manager, and neither changes the
    workload again for ``QUIET_INTERVALS`` probe intervals (no flip-flop)."""
    flow.push(f.manifests(undo=True), message="back to the pod network")
    reverted = flow.check.remediation_reaches(
        workload=f.WORKLOAD, state=model.WorkloadState.REVERTED_BY_OTHER, timeout=f.RUN_TIMEOUT
    )
    condition = h.condition(reverted, model.ConditionType.REMEDIATION_REVERTED)
    assert (condition["status"], condition["reason"]) == ("True", "RevertedByOtherManager")
    assert "argocd-controller" in condition["message"]
    assert _fields(flow.workload())[0] is False

    generations, syncs = f.generations_during(flow, seconds=QUIET_INTERVALS * f.INTERVAL_SECONDS)
    print(
        f"\nFIGURE argocd {what}: generations {generations}, sync {syncs}, "
        f"fields {_fields(flow.workload())}, {condition['message']}"
    )
    assert len(generations) == 1, "the workload changed again: a flip-flop"
    assert syncs == {"Synced"}
    assert _fields(flow.workload()) == (False, "ClusterFirst")


@pytest.mark.parametrize("apply", sorted(APPLY))
def test_json_pointers_ignored_with_respect_ignore_differences_keep_the_fallback_synced(
    api_client, namespace, operator_for, argocd_apps, apply
):
    flow = f.start(
        argocd_apps,
        api_client,
        _prune_last(f.manifests()),
        sync_policy=_policy(apply, "RespectIgnoreDifferences=true"),
        ignore_differences=[JSON_POINTERS],
    )
    flow.wait(lambda o: a.sync_status(o) == "Synced", what="Synced")
    patched = _remediated(flow)

    # The same commit as above: Argo CD syncs it (the label), with the live values of the
    # ignored fields.
    flow.push(_prune_last(f.manifests(undo=True)), message="back to the pod network")
    assert flow.workload()["metadata"]["labels"]["revision"] == "undo"
    generations, syncs = f.generations_during(flow, seconds=QUIET_INTERVALS * f.INTERVAL_SECONDS)
    print(f"\nFIGURE argocd jsonPointers ({apply}): generations {generations}, sync {syncs}")
    # No rollout: the pod template as the operator left it. (A client-side sync still
    # bumps the generation once: it rewrites the last-applied-configuration annotation,
    # and a Deployment's annotations count as its spec.)
    assert len(generations) == 1, "the workload changed again"
    assert flow.workload()["spec"]["template"] == patched["spec"]["template"]
    assert syncs == {"Synced"}
    assert _fields(flow.workload()) == (True, hostnetwork.HOST_DNS_POLICY)
    check = h.read_check(api_client, namespace=namespace, name=f.CHECK)
    assert h.remediation_entry(check, f.WORKLOAD)["state"] == "Remediated"

    # The check deleted through Git (pruned): its revert-on-delete restores the workload.
    files = f.manifests(undo=True)
    del files["check.yaml"]
    flow.push(files, message="no check")
    deadline = time.monotonic() + f.SYNC_TIMEOUT
    while True:
        workload = flow.workload()
        if not hostnetwork.is_patched(workload):
            break
        managers = [(m["manager"], m["operation"], m["time"]) for m in _managed(workload)]
        assert time.monotonic() < deadline, (
            f"the workload was not restored: fields {_fields(workload)}, annotations "
            f"{sorted(hostnetwork.annotations_of(workload))}, managers {managers}"
        )
        time.sleep(1)
    assert _fields(workload) == (False, "ClusterFirst")
    assert hostnetwork.ORIGINAL_ANNOTATION not in hostnetwork.annotations_of(workload)
    flow.wait(lambda o: a.sync_status(o) == "Synced", what="Synced after the revert")
    # And it stays on the pod network: no sync puts the fallback back (PruneLast: the
    # pruning sync applied the workload before the check was pruned) for two of Argo CD's
    # reconciliation periods after the revert.
    restored = workload["spec"]["template"]
    quiet = 2 * a.APP_RESYNC_SECONDS
    deadline = time.monotonic() + quiet
    while time.monotonic() < deadline:
        workload = flow.workload()
        managers = [(m["manager"], m["operation"], m["time"]) for m in _managed(workload)]
        assert workload["spec"]["template"] == restored, (
            f"the pod template changed after the revert: fields {_fields(workload)}, "
            f"managers {managers}"
        )
        time.sleep(1)
    print(f"\nFIGURE argocd jsonPointers ({apply}): pod network kept {quiet} s after the revert")


def _prune_last(files: dict[str, Any]) -> dict[str, Any]:
    """The check annotated to be pruned last, as examples/argocd/app/nethealthcheck.yaml."""
    annotations = files["check.yaml"]["metadata"].setdefault("annotations", {})
    annotations.update(PRUNE_LAST)
    return files


def test_managed_fields_managers_is_not_applied_by_argo_cd_2_14_to_a_deployment_of_kubernetes_1_36(
    api_client, namespace, operator_for, argocd_apps
):
    """What ``docs/argocd.md`` warns of: the form Argo CD's docs suggest for a controller's
    fields ignores nothing here (see the module's docstring), so the commit that names the
    pod network's values changes the workload back even with
    ``RespectIgnoreDifferences=true``; the operator reports it and lets it be."""
    flow = f.start(
        argocd_apps,
        api_client,
        f.manifests(),
        sync_policy=_policy("client-side", "RespectIgnoreDifferences=true"),
        ignore_differences=[MANAGED_FIELDS_MANAGERS],
    )
    flow.wait(lambda o: a.sync_status(o) == "Synced", what="Synced")
    _remediated(flow)
    _assert_changed_back_and_not_fought(flow, what="managedFieldsManagers")


def test_a_sync_that_changes_the_check_while_its_remediation_is_verified_keeps_one_change(
    api_client, namespace, operator_for, argocd_apps
):
    flow = f.start(argocd_apps, api_client, f.manifests(), sync_policy=_policy("client-side"))
    flow.wait(lambda o: a.sync_status(o) == "Synced", what="Synced")
    pod = h.running_pod(api_client, namespace=namespace, app=f.WORKLOAD, host_network=False)
    flow.check.pod_reaches(
        pod=pod["metadata"]["name"], state="Healthy", timeout=f.RUN_TIMEOUT, what="measured"
    )
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        flow.check.remediation_reaches(
            workload=f.WORKLOAD, state="Verifying", timeout=f.RUN_TIMEOUT
        )

    # An edit of the check's spec arrives from Git mid-verification.
    edited = f.manifests(probe={"attempts": 30})
    flow.push(edited, message="more attempts")
    check = h.read_check(api_client, namespace=namespace, name=f.CHECK)
    assert check["metadata"]["generation"] == 2
    assert check["spec"]["probe"]["attempts"] == 30

    verified = flow.check.remediation_reaches(
        workload=f.WORKLOAD, state="Remediated", timeout=f.RUN_TIMEOUT
    )
    assert verified["status"]["observedGeneration"] == 2
    workload = flow.workload()
    assert hostnetwork.is_patched(workload)
    # One change: one rollout (generation 2), no second patch, no revert.
    assert workload["metadata"]["generation"] == 2
    app = flow.wait(
        lambda o: a.health_status(o) == "Healthy" and a.sync_status(o) == "Synced",
        what="Synced and Healthy after the edit",
    )
    assert flow.check_health(app) == "Healthy"
    events = {
        e.reason for e in h.events(api_client, namespace=namespace, kind=model.KIND, name=f.CHECK)
    }
    assert "RemediationReverted" not in events
