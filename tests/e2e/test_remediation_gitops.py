"""The hostNetwork fallback against managers that name its fields, on the real API server.

What a real Argo CD does (self-heal, a field added in Git, both forms of
``ignoreDifferences`` with ``RespectIgnoreDifferences=true``, a revert after its sync) is
tested with a real Argo CD in ``test_argocd_remediation.py``. What is left here is decided
by the API server's field management alone, before any patch, so no Argo CD is needed:

- a manifest that names ``hostNetwork`` or ``dnsPolicy`` itself (applied client-side by
  ``kubectl apply``, or server-side by a manager such as ``argocd-controller``) keeps the
  field: the workload is Blocked (``FieldsOwnedByAnotherManager``) naming that manager and
  nothing is written: no round of flip-flop. (Whoever created a workload also owns the
  fields the API server defaulted, ``dnsPolicy`` among them: those alone never block the
  patch.);
- a server-side apply that sets ``hostNetwork: false`` *without* force (a person's or a
  pipeline's ``kubectl apply --server-side``) is refused with a 409 conflict naming
  ``nethealth-operator``.

The Deployments have no replicas: pods and rollouts play no part in field ownership, and
the remediation I/O on running pods is covered by ``test_remediation_kinds.py`` and
``test_remediation_workloads.py``.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from typing import Any

import kubernetes
import operator_calls as workloads
import pytest

import model_examples
from nethealth import model
from nethealth.devcluster import sleepers
from nethealth.probe import types
from nethealth.remediation import hostnetwork, planning

pytestmark = pytest.mark.e2e

CHECK = "apps/gitops-check"
ARGOCD = "argocd-controller"
CLIENT_SIDE_APPLY = "kubectl-client-side-apply"


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


def test_a_field_the_client_side_applied_manifest_names_blocks_the_patch_naming_its_manager(
    api_client, cluster, namespace
):
    _client_side_apply(cluster.kubeconfig, _manifest(namespace, "csa", explicit=True))
    _assert_blocked_by(api_client, _key(namespace, "csa"), CLIENT_SIDE_APPLY)


def test_a_field_argo_cds_server_side_apply_names_blocks_the_patch_naming_it(api_client, namespace):
    manifest = _manifest(namespace, "ssa", explicit=True)
    _server_side_apply(api_client, manifest, manager=ARGOCD, force=True)
    _assert_blocked_by(api_client, _key(namespace, "ssa"), ARGOCD)


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
