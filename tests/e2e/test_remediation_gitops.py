"""Argo CD and the hostNetwork fallback, simulated on the real API server.

Argo CD owns the workload's manifest and, with self-heal, applies it again when the live
object drifts. Which of its writes undo the fallback, and which let it stick, is decided by
the API server's field management, so that is what these tests exercise (no Argo CD here):

- a manifest that names ``hostNetwork`` or ``dnsPolicy`` itself (applied client-side, as
  Argo CD does by default, or server-side by ``argocd-controller``) keeps the field: the
  workload is Blocked (``FieldsOwnedByAnotherManager``) naming that manager and nothing is
  written: no round of flip-flop. (Whoever created a workload also owns the fields the API
  server defaulted, ``dnsPolicy`` among them: those alone never block the patch.);
- a manifest that names neither field lets the patch apply, and self-heal syncs leave it;
- a field added to the manifest after the patch changes it back: the next plan reports
  ``RevertedByOtherManager`` naming the manager and proposes no patch (not fought);
- ``ignoreDifferences`` (``managedFieldsManagers: [nethealth-operator]``, or the two
  ``jsonPointers``) with ``RespectIgnoreDifferences=true``: Argo CD copies the live values
  of the ignored fields into what it applies (``normalizeTargetResources`` in
  argo-cd's controller/sync.go), so the patch stays, and the revert still restores;
- a server-side apply that sets ``hostNetwork: false`` *without* force is refused with a
  409 conflict naming ``nethealth-operator``.

The Deployments have no replicas: pods and rollouts play no part in field ownership, and
the remediation I/O on running pods is covered by ``test_remediation_kinds.py`` and
``test_remediation_workloads.py``.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

import kubernetes
import operator_calls as workloads
import pytest

import model_examples
from nethealth import model
from nethealth.devcluster import sleepers
from nethealth.probe import types
from nethealth.remediation import hostnetwork, planning, summary

pytestmark = pytest.mark.e2e

CHECK = "apps/gitops-check"
ARGOCD = "argocd-controller"
CLIENT_SIDE_APPLY = "kubectl-client-side-apply"
POD_SPEC = ("spec", "template", "spec")
# The jsonPointers form of ignoreDifferences for the two fields.
POINTERS = ("/spec/template/spec/hostNetwork", "/spec/template/spec/dnsPolicy")


def _manifest(namespace: str, name: str, *, explicit: bool = False) -> dict[str, Any]:
    """The workload as the user's chart renders it (no replicas, see above); ``explicit``:
    with ``hostNetwork: false`` in it."""
    manifest = sleepers.deployment(name, namespace=namespace)
    manifest["spec"]["replicas"] = 0
    if explicit:
        manifest["spec"]["template"]["spec"]["hostNetwork"] = False
    return manifest


def _server_side_apply(
    api_client: Any, body: dict[str, Any], *, manager: str, force: bool
) -> dict[str, Any]:
    apps = kubernetes.client.AppsV1Api(api_client)
    response = apps.patch_namespaced_deployment(
        body["metadata"]["name"],
        body["metadata"]["namespace"],
        body,
        field_manager=manager,
        force=force,
        _content_type=workloads.APPLY_CONTENT_TYPE,
        _preload_content=False,
    )
    answer: dict[str, Any] = json.loads(response.data)
    return answer


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("missing prerequisite in CI: kubectl (for a client-side apply)")
        pytest.skip("kubectl is not installed (needed for a client-side apply)")
    return found


def _client_side_apply(kubeconfig: Any, body: dict[str, Any]) -> None:
    """``kubectl apply`` as Argo CD does by default: a three-way merge against the
    last-applied-configuration annotation, under the manager kubectl-client-side-apply."""
    subprocess.run(
        [_kubectl(), "--kubeconfig", str(kubeconfig), "apply", "-f", "-"],
        input=json.dumps(body).encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )


def _key(namespace: str, name: str) -> hostnetwork.WorkloadKey:
    return hostnetwork.WorkloadKey(kind=hostnetwork.Kind.DEPLOYMENT, namespace=namespace, name=name)


def _read(api_client: Any, key: hostnetwork.WorkloadKey) -> dict[str, Any]:
    live = workloads.read_workload(api_client, key)
    assert live is not None
    return live


def _plan(live: dict[str, Any], key: hostnetwork.WorkloadKey) -> planning.Plan:
    """The operator's plan for a degraded pod (class PodNamespace) of ``live``."""
    pod = f"{key.namespace}/{key.name}-pod"
    facts = planning.PodFacts(
        key=pod,
        node="node",
        state=model.PodState.DEGRADED,
        klass=types.ProbeClass.POD_NAMESPACE,
        hint=None,
        owner=key,
    )
    return planning.plan(
        check=CHECK,
        check_uid="uid-of-gitops-check",
        remediation=model_examples.REMEDIATION,
        pods={pod: facts},
        workloads={key: live},
        namespace_labels={},
        node_pods={},
        history={},
        now=datetime.datetime.now(datetime.UTC),
    )


def _remediate(api_client: Any, key: hostnetwork.WorkloadKey) -> dict[str, Any]:
    [verdict] = _plan(_read(api_client, key), key).verdicts
    assert verdict.outcome is planning.Outcome.PATCH, verdict
    patched = workloads.patch(api_client, verdict)
    assert hostnetwork.is_patched(patched)
    return patched


def _assert_blocked_by(api_client: Any, key: hostnetwork.WorkloadKey, manager: str) -> None:
    """The plan blocks the patch, naming the manager that sets the field itself, and
    nothing of the workload is written."""
    before = _read(api_client, key)
    [verdict] = _plan(before, key).verdicts
    assert (verdict.outcome, verdict.reason) == (
        planning.Outcome.BLOCKED,
        model.Reason.FIELDS_OWNED_BY_ANOTHER_MANAGER,
    ), verdict
    assert manager in verdict.message
    assert verdict.body is None
    after = _read(api_client, key)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert not hostnetwork.annotations_of(after).keys() & {hostnetwork.ORIGINAL_ANNOTATION}


def _fields(obj: dict[str, Any]) -> tuple[object, object]:
    spec = hostnetwork.pod_spec(obj)
    return spec.get("hostNetwork", False), spec.get("dnsPolicy")


def _assert_reverted_by(live: dict[str, Any], key: hostnetwork.WorkloadKey, manager: str) -> None:
    """The plan reports the change-back, names who did it, and proposes nothing."""
    plan = _plan(live, key)
    [verdict] = plan.verdicts
    assert verdict.outcome is planning.Outcome.REVERTED_BY_OTHER
    assert verdict.reason is model.Reason.REVERTED_BY_OTHER_MANAGER
    assert f"changed back by {manager};" in verdict.message
    assert verdict.body is None
    assert plan.patches == ()
    [(kind, is_true, reason, message)] = summary.of_plan(plan)
    assert (kind, is_true, reason) == (
        model.ConditionType.REMEDIATION_REVERTED,
        True,
        model.Reason.REVERTED_BY_OTHER_MANAGER,
    )
    assert manager in message


def test_a_field_the_client_side_applied_manifest_names_blocks_the_patch_naming_its_manager(
    api_client, cluster, namespace
):
    _client_side_apply(cluster.kubeconfig, _manifest(namespace, "csa", explicit=True))
    _assert_blocked_by(api_client, _key(namespace, "csa"), CLIENT_SIDE_APPLY)


def test_a_field_argo_cds_server_side_apply_names_blocks_the_patch_naming_it(api_client, namespace):
    manifest = _manifest(namespace, "ssa", explicit=True)
    _server_side_apply(api_client, manifest, manager=ARGOCD, force=True)
    _assert_blocked_by(api_client, _key(namespace, "ssa"), ARGOCD)


def test_a_manifest_without_the_two_fields_lets_the_fallback_stick_through_self_heal(
    api_client, cluster, namespace
):
    manifest = _manifest(namespace, "stick")
    key = _key(namespace, "stick")
    _client_side_apply(cluster.kubeconfig, manifest)
    patched = _remediate(api_client, key)

    _client_side_apply(cluster.kubeconfig, manifest)  # self-heal
    _server_side_apply(api_client, manifest, manager=ARGOCD, force=True)  # or server-side

    live = _read(api_client, key)
    _assert_still_patched(live, key)
    assert live["metadata"]["generation"] == patched["metadata"]["generation"]


def test_a_field_added_to_the_manifest_later_is_reported_and_not_fought(
    api_client, cluster, namespace
):
    key = _key(namespace, "later")
    _client_side_apply(cluster.kubeconfig, _manifest(namespace, "later"))
    _remediate(api_client, key)

    _client_side_apply(cluster.kubeconfig, _manifest(namespace, "later", explicit=True))

    live = _read(api_client, key)
    assert _fields(live)[0] is False
    _assert_reverted_by(live, key, CLIENT_SIDE_APPLY)


def test_a_forced_server_side_apply_by_argo_cd_is_reported_and_not_fought(api_client, namespace):
    key = _key(namespace, "forced")
    _server_side_apply(api_client, _manifest(namespace, "forced"), manager=ARGOCD, force=True)
    _remediate(api_client, key)

    explicit = _manifest(namespace, "forced", explicit=True)
    _server_side_apply(api_client, explicit, manager=ARGOCD, force=True)  # self-heal

    live = _read(api_client, key)
    assert _fields(live)[0] is False
    _assert_reverted_by(live, key, ARGOCD)


def _get(obj: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _owned_paths(live: dict[str, Any], manager: str) -> list[tuple[str, ...]]:
    """The leaf fields ``manager`` owns (managedFieldsManagers' view), as key paths."""
    found: list[tuple[str, ...]] = []

    def walk(fields: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, sub in fields.items():
            if not name.startswith("f:"):
                continue
            here = (*path, name[2:])
            if sub:
                walk(sub, here)
            else:
                found.append(here)

    for entry in live["metadata"].get("managedFields") or ():
        if entry["manager"] == manager:
            walk(entry.get("fieldsV1") or {}, ())
    return found


def _respecting_ignore_differences(
    manifest: dict[str, Any], live: dict[str, Any], ignored: Iterable[Sequence[str]]
) -> dict[str, Any]:
    """What Argo CD applies with ``RespectIgnoreDifferences=true``: the manifest with each
    ignored field taken out, then set to its live value where the live object has one."""
    target = copy.deepcopy(manifest)
    for path in ignored:
        parent = _get(target, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        value = _get(live, path)
        if value is None:
            continue
        node = target
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = copy.deepcopy(value)
    return target


def _without(manifest: dict[str, Any], paths: Iterable[Sequence[str]]) -> dict[str, Any]:
    trimmed = copy.deepcopy(manifest)
    for path in paths:
        parent = _get(trimmed, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return trimmed


def _pointer(text: str) -> tuple[str, ...]:
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in text.split("/")[1:])


def _assert_still_patched(live: dict[str, Any], key: hostnetwork.WorkloadKey) -> None:
    assert _fields(live) == (True, hostnetwork.HOST_DNS_POLICY)
    [verdict] = _plan(live, key).verdicts
    assert verdict.outcome is planning.Outcome.APPLIED  # settled: nothing to do, no fight


@pytest.mark.parametrize("form", ["managedFieldsManagers", "jsonPointers"])
def test_ignore_differences_with_respect_ignore_differences_lets_the_fallback_stick(
    api_client, namespace, form
):
    manifest = _manifest(namespace, "ign")
    key = _key(namespace, "ign")
    _server_side_apply(api_client, manifest, manager=ARGOCD, force=True)
    patched = _remediate(api_client, key)
    if form == "managedFieldsManagers":
        ignored = _owned_paths(patched, hostnetwork.FIELD_MANAGER)
        # The manager owns the two fields and its annotations, nothing of the user's.
        assert {p for p in ignored if p[: len(POD_SPEC)] == POD_SPEC} == {
            (*POD_SPEC, "hostNetwork"),
            (*POD_SPEC, "dnsPolicy"),
        }
    else:
        ignored = [_pointer(p) for p in POINTERS]
    generation = patched["metadata"]["generation"]

    # A sync of the manifest with the two fields left out (as a hand-trimmed manifest).
    _server_side_apply(
        api_client, _without(manifest, [_pointer(p) for p in POINTERS]), manager=ARGOCD, force=True
    )
    _assert_still_patched(_read(api_client, key), key)

    # A self-heal sync as Argo CD does it: the ignored fields carry their live values.
    live = _read(api_client, key)
    synced = _respecting_ignore_differences(manifest, live, ignored)
    _server_side_apply(api_client, synced, manager=ARGOCD, force=True)
    after = _read(api_client, key)
    _assert_still_patched(after, key)
    assert after["metadata"]["generation"] == generation  # no rollout either
    assert hostnetwork.ORIGINAL_ANNOTATION in hostnetwork.annotations_of(after)


def test_a_server_side_apply_of_an_explicit_false_without_force_conflicts_with_us(
    api_client, namespace
):
    key = _key(namespace, "cnf")
    _server_side_apply(api_client, _manifest(namespace, "cnf"), manager=ARGOCD, force=True)
    patched = _remediate(api_client, key)

    explicit = _manifest(namespace, "cnf", explicit=True)
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _server_side_apply(api_client, explicit, manager=ARGOCD, force=False)

    assert refused.value.status == 409
    status = json.loads(refused.value.body)
    causes = status["details"]["causes"]
    assert any(
        c["field"] == ".spec.template.spec.hostNetwork"
        and hostnetwork.FIELD_MANAGER in c["message"]
        for c in causes
    ), causes
    live = _read(api_client, key)
    # (Not the resourceVersion: the Deployment controller still writes its status.)
    assert live["metadata"]["generation"] == patched["metadata"]["generation"]
    assert hostnetwork.is_patched(live)


def test_a_revert_after_an_argo_cd_sync_that_respected_ignore_differences_restores_the_original(
    api_client, namespace
):
    """After Argo CD applied the live values of the ignored fields (server-side), it co-owns
    ``hostNetwork: true``; the revert must still bring the original pod template back, not
    leave the pods on the node's network with ``dnsPolicy: ClusterFirst`` and no record."""
    manifest = _manifest(namespace, "rev")
    key = _key(namespace, "rev")
    _server_side_apply(api_client, manifest, manager=ARGOCD, force=True)
    before = _read(api_client, key)
    _remediate(api_client, key)
    live = _read(api_client, key)
    synced = _respecting_ignore_differences(manifest, live, [_pointer(p) for p in POINTERS])
    _server_side_apply(api_client, synced, manager=ARGOCD, force=True)

    restored = workloads.revert(api_client, key)

    assert restored is not None
    assert not hostnetwork.annotations_of(restored).keys() & {
        hostnetwork.ORIGINAL_ANNOTATION,
        hostnetwork.BY_ANNOTATION,
        hostnetwork.AT_ANNOTATION,
    }
    assert _fields(restored) == (False, "ClusterFirst")
    assert restored["spec"]["template"] == before["spec"]["template"]
