"""The operator installed by ``helm install`` runs as a pod under the chart's ServiceAccount,
ClusterRole and Role, and does its job: a missing RBAC verb, a probe on the wrong port or a
read-only root filesystem the operator cannot live with fails here.

The release is confined to the test's namespace (``operator.watchNamespaces``) so that it
never touches checks of other tests; its pod reaches the API through the ``kubernetes``
Service, as in any cluster.
"""

from __future__ import annotations

import pathlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import check_waits
import operator_harness as h
import pytest
import remediation_helpers
from kubernetes import client

from nethealth import model
from nethealth.devcluster import images
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

CHART = pathlib.Path(__file__).resolve().parents[2] / "charts" / "nethealth-operator"


def _release(namespace: str) -> str:
    """Derived from the namespace: tests run in parallel, and the release's ClusterRole is
    cluster-scoped."""
    return f"nh-{namespace.removeprefix('t-')}"


def _later(namespace: str) -> str:
    return f"{namespace}-later"


def _helm(helm: pathlib.Path, kubeconfig: pathlib.Path, *args: str) -> str:
    result = subprocess.run(
        [str(helm), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _diagnosis(api_client: client.ApiClient, namespace: str) -> str:
    core = client.CoreV1Api(api_client)
    lines = []
    for pod in core.list_namespaced_pod(namespace).items:
        lines.append(f"pod {pod.metadata.name}: {pod.status.phase}")
        for container in pod.spec.containers:
            try:
                log = core.read_namespaced_pod_log(
                    pod.metadata.name, namespace, container=container.name, tail_lines=30
                )
            except client.ApiException as exc:
                log = f"(no log: {exc.reason})"
            lines.append(log)
    return "\n".join(lines)


def _web_healthy(
    api_client: client.ApiClient,
    *,
    namespace: str,
    release_namespace: str,
    timeout: float,
    what: str,
) -> dict[str, Any]:
    """The check ``web`` once its pod ``web`` is Healthy; else fails with the release's
    pods and logs."""
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    try:
        return check.pod_reaches(pod="web", state="Healthy", timeout=timeout, what=what)
    except pytest.fail.Exception:
        pytest.fail(_diagnosis(api_client, release_namespace))


@pytest.fixture
def release(
    cluster: Any,
    api_client: client.ApiClient,
    namespace: str,
    helm: pathlib.Path,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    """The chart installed into the test's namespace; uninstalled afterwards (its
    ClusterRole, bindings and admission policies are cluster-scoped and would outlive the
    namespace). Confined by ``operator.watchNamespaces``, or (``indirect`` parameter
    ``"roles"``) by ``rbac.namespaces``: Roles, and an operator that lists only there."""
    repository, tag = images.NETHEALTH_IMAGE.rsplit(":", 1)
    param = getattr(request, "param", None)
    confine = "rbac.namespaces" if param == "roles" else "operator.watchNamespaces"
    # "later": the release also serves a namespace that does not exist yet (_later).
    served = f"{namespace},{_later(namespace)}" if param == "later" else namespace
    try:
        notes = _helm(
            helm,
            cluster.kubeconfig,
            "install",
            _release(namespace),
            str(CHART),
            "--namespace",
            namespace,
            "--set",
            f"image.repository={repository}",
            "--set",
            f"image.tag={tag}",
            "--set",
            "image.pullPolicy=Never",
            "--set",
            f"{confine}={{{served}}}",
            "--wait",
            "--timeout",
            "120s",
        )
        yield notes
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{_diagnosis(api_client, namespace)}")
    finally:
        subprocess.run(
            [
                str(helm),
                "--kubeconfig",
                str(cluster.kubeconfig),
                "uninstall",
                _release(namespace),
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
                "60s",
            ],
            capture_output=True,
            check=False,
            timeout=120,
        )


def test_the_chart_operator_runs_under_its_own_service_account_and_probes_a_pod(
    api_client: client.ApiClient, namespace: str, release: str
) -> None:
    assert f"rollout status deployment/{_release(namespace)}-nethealth-operator" in release
    core = client.CoreV1Api(api_client)
    (pod,) = core.list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/name=nethealth-operator"
    ).items
    assert pod.spec.service_account_name == f"{_release(namespace)}-nethealth-operator"
    assert pod.spec.containers[0].security_context.read_only_root_filesystem is True
    assert all(status.ready for status in pod.status.container_statuses)

    h.workload(api_client, namespace=namespace, name="web")
    started = time.monotonic()
    h.create_check(api_client, namespace=namespace, body=h.check_body("web", app="web"))
    obj = _web_healthy(
        api_client,
        namespace=namespace,
        release_namespace=namespace,
        timeout=150,
        what="pod Healthy, measured by the chart's operator",
    )
    print(
        f"\nFIGURE chart operator: pod Healthy {time.monotonic() - started:.0f} s after the check"
    )
    assert h.condition(obj, "Ready")["status"] == "True"
    assert h.condition(obj, "Degraded")["status"] == "False"


@pytest.mark.parametrize("release", ["roles"], indirect=True)
def test_the_chart_operator_may_remediate_and_revert_on_delete(
    api_client: client.ApiClient, namespace: str, release: str
) -> None:
    """Every verb remediation needs (owner reads, the apply, the finalizer, the revert) is
    granted by the chart's Roles (``rbac.namespaces``: the operator lists only there), and
    the chart's admission policies let the operator's own patch and revert through: a
    missing verb or an over-strict policy would stop this at that step."""
    del release
    pod = h.deployment(api_client, namespace=namespace, name="app")
    body = h.check_body("app", app="app", remediation={"mode": "Auto"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="app")
    check.pod_reaches(
        pod=pod["metadata"]["name"],
        state="Healthy",
        timeout=150,
        what="pod Healthy, measured by the chart's operator",
    )
    try:
        with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
            check.remediation_reaches(
                workload="app",
                state="Verifying",
                timeout=200,
                what="the workload patched by the chart's operator",
            )
        apps = client.AppsV1Api(api_client)
        assert apps.read_namespaced_deployment("app", namespace).spec.template.spec.host_network
        h.wait_for(
            api_client,
            namespace=namespace,
            name="app",
            timeout=30,
            what="the revert-on-delete finalizer",
            until=lambda o: bool(o["metadata"].get("finalizers")),
        )
        client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
            model.GROUP, model.VERSION, namespace, model.PLURAL, "app"
        )
        deadline = time.monotonic() + 60
        while apps.read_namespaced_deployment("app", namespace).spec.template.spec.host_network:
            assert time.monotonic() < deadline, "the Deployment was not reverted"
            time.sleep(1)
    except pytest.fail.Exception:
        pytest.fail(_diagnosis(api_client, namespace))


@pytest.fixture
def later(
    api_client: client.ApiClient, namespace: str, _deleted_namespaces: list[str]
) -> Iterator[str]:
    """The name of the namespace the ``later`` release also serves; the test creates it.
    Deleted afterwards like the test's own (checks released, pods gone)."""
    name = _later(namespace)
    yield name
    core = client.CoreV1Api(api_client)
    try:
        core.read_namespace(name)
    except client.ApiException:
        return
    remediation_helpers.release_checks(api_client, namespace=name)
    core.delete_namespace(name)
    _deleted_namespaces.append(name)
    core.delete_collection_namespaced_pod(name, grace_period_seconds=1)
    deadline = time.monotonic() + 60
    while core.list_namespaced_pod(name).items:
        assert time.monotonic() < deadline, f"pods of namespace {name} outlived it"
        time.sleep(0.3)


@pytest.mark.parametrize("release", ["later"], indirect=True)
def test_a_served_namespace_created_after_the_operator_started_is_served(
    api_client: client.ApiClient, namespace: str, release: str, later: str
) -> None:
    """GitOps creates namespaces and the operator in any order: checks in a namespace the
    release serves but that appeared after the operator started are measured all the same
    (kopf learns of the namespace by watching namespaces, which the chart must grant)."""
    del release
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": later, "labels": {"nethealth.test/e2e": "true"}}})
    h.workload(api_client, namespace=later, name="web")
    h.create_check(api_client, namespace=later, body=h.check_body("web", app="web"))
    _web_healthy(
        api_client,
        namespace=later,
        release_namespace=namespace,
        timeout=120,
        what="pod Healthy in a namespace created after the operator",
    )
