"""The chart's ValidatingAdmissionPolicies on the real API server, confined to the test's
namespaces, and a client that acts as the chart's operator service account.

The policies are cluster-scoped objects. Each pytest worker installs one set, named after
a session id, whose probe-pod bindings select only namespaces labelled
``nethealth.test/admission=<id>`` (``seal``): other tests' probe pods and operators (which
run as the cluster admin) never meet them. The operator-token policy matches only the
rendered service account's user name, which nothing but these tests impersonates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from nethealth.devcluster import images

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "nethealth-operator"
LABEL = "nethealth.test/admission"
# What the e2e operator and the tests' Jobs may run besides the real probe: the pause image
# is a probe pod that stays up (to try exec on), the workload image a forged one.
EXTRA_IMAGES = (images.PAUSE_IMAGE,)
# The protections off, to see each test fail without them (docs/security.md):
# ``NETHEALTH_E2E_ADMISSION_ACTIONS=Warn`` binds the policies to warn instead of deny
# (with Warn in it: ``seal`` knows the policies are in force by the warning).
ACTIONS = os.environ.get("NETHEALTH_E2E_ADMISSION_ACTIONS", "")
KINDS = (
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policies:
    id: str
    operator_user: str  # system:serviceaccount:NS:NAME, the chart's operator
    docs: tuple[dict[str, Any], ...]


def render(helm: pathlib.Path, *, session: str, sets: Sequence[str] = ()) -> list[dict[str, Any]]:
    repository, tag = images.NETHEALTH_IMAGE.rsplit(":", 1)
    flags = [
        f"image.repository={repository}",
        f"image.tag={tag}",
        f"admissionPolicies.namespaceSelector.matchLabels.nethealth\\.test/admission={session}",
        *(f"operator.allowedProbeImages[{i}]={image}" for i, image in enumerate(EXTRA_IMAGES)),
        *([f"admissionPolicies.validationActions={{{ACTIONS}}}"] if ACTIONS else []),
        *sets,
    ]
    result = subprocess.run(
        [
            str(helm),
            "template",
            f"sec-{session}",
            str(CHART),
            "--namespace",
            f"nh-sec-{session}",
            *(item for flag in flags for item in ("--set", flag)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _creator(api_client: client.ApiClient, kind: str) -> Callable[[dict[str, Any]], Any]:
    rbac = client.RbacAuthorizationV1Api(api_client)
    admission = client.AdmissionregistrationV1Api(api_client)
    return {
        "ClusterRole": rbac.create_cluster_role,
        "ClusterRoleBinding": rbac.create_cluster_role_binding,
        "ValidatingAdmissionPolicy": admission.create_validating_admission_policy,
        "ValidatingAdmissionPolicyBinding": admission.create_validating_admission_policy_binding,
    }[kind]


def _deleter(api_client: client.ApiClient, kind: str) -> Callable[[str], Any]:
    rbac = client.RbacAuthorizationV1Api(api_client)
    admission = client.AdmissionregistrationV1Api(api_client)
    return {
        "ClusterRole": rbac.delete_cluster_role,
        "ClusterRoleBinding": rbac.delete_cluster_role_binding,
        "ValidatingAdmissionPolicy": admission.delete_validating_admission_policy,
        "ValidatingAdmissionPolicyBinding": admission.delete_validating_admission_policy_binding,
    }[kind]


@contextlib.contextmanager
def installed(
    api_client: client.ApiClient, helm: pathlib.Path, *, session: str
) -> Iterator[Policies]:
    docs = [d for d in render(helm, session=session) if d["kind"] in KINDS]
    (binding,) = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    subject = binding["subjects"][0]
    user = f"system:serviceaccount:{subject['namespace']}:{subject['name']}"
    created: list[dict[str, Any]] = []
    try:
        for doc in docs:
            _creator(api_client, doc["kind"])(doc)
            created.append(doc)
        yield Policies(id=session, operator_user=user, docs=tuple(docs))
    finally:
        for doc in reversed(created):
            with contextlib.suppress(client.ApiException):
                _deleter(api_client, doc["kind"])(doc["metadata"]["name"])


def seal(api_client: client.ApiClient, *, namespace: str, policies: Policies) -> None:
    """Puts ``namespace`` under the policies, and waits until the API server enforces them
    there (its policy informer takes a moment)."""
    core = client.CoreV1Api(api_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {LABEL: policies.id}}})
    probe = {
        "metadata": {"name": "policy-probe", "labels": {"nethealth.io/probe": "true"}},
        "spec": {"containers": [{"name": "c", "image": images.PAUSE_IMAGE}]},
    }
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            response = core.create_namespaced_pod(
                namespace, probe, dry_run="All", _preload_content=False
            )
        except client.ApiException as exc:
            if exc.status == 403 and "Job controller" in str(exc.body):
                return
            raise
        warning = response.headers.get("Warning") or ""
        response.drain_conn()  # read to the end: the connection goes back to the pool clean
        response.release_conn()
        if "Job controller" in warning:
            return  # bound to warn (ACTIONS): enforced, and refusing nothing
        time.sleep(0.3)
    pytest.fail("the admission policies were not enforced within 30 s")


@contextlib.contextmanager
def acting_as(kubeconfig: pathlib.Path, user: str) -> Iterator[client.ApiClient]:
    """A client that impersonates ``user`` (the admin may impersonate anyone)."""
    api_client = config.new_client_from_config(str(kubeconfig))
    api_client.set_default_header("Impersonate-User", user)
    try:
        yield api_client
    finally:
        api_client.close()


def refused(call: Callable[[], Any]) -> str:
    """The API server's refusal of ``call`` (403) as text; fails if it was allowed."""
    with pytest.raises(client.ApiException) as caught:
        call()
    assert caught.value.status == 403, caught.value.body
    return str(caught.value.body)
