"""A check in the operator's namespace with a ``namespaceSelector`` measures pods of other
namespaces: its probe Jobs run in the pods' namespace, tied to the check by labels (an
owner reference cannot cross namespaces), and go when the check goes: at once while the
operator runs, and by the sweep at start when the check was deleted while it was down."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import check_waits
import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs

pytestmark = pytest.mark.e2e


@pytest.fixture
def other_namespace(api_client: client.ApiClient, _deleted_namespaces: list[str]) -> Iterator[str]:
    """A second fresh namespace, labelled so that only this test's selector matches it."""
    core = client.CoreV1Api(api_client)
    name = f"t-{secrets.token_hex(4)}"
    core.create_namespace(
        {"metadata": {"name": name, "labels": {"nethealth.test/e2e": "true", "pick": name}}}
    )
    try:
        yield name
    finally:
        core.delete_namespace(name)
        _deleted_namespaces.append(name)
        core.delete_collection_namespaced_pod(name, grace_period_seconds=1)


def _jobs_everywhere(api_client: client.ApiClient, uid: str) -> list[Any]:
    batch = client.BatchV1Api(api_client)
    selector = f"{jobs.LABEL_CHECK_UID}={uid}"
    return list(batch.list_job_for_all_namespaces(label_selector=selector).items)


def _wait_jobs(api_client: client.ApiClient, uid: str, *, present: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while bool(_jobs_everywhere(api_client, uid)) != present:
        assert time.monotonic() < deadline, f"probe Jobs {'never came' if present else 'stayed'}"
        time.sleep(1)


def _delete_check(api_client: client.ApiClient, *, namespace: str, name: str) -> None:
    client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
        "nethealth.io", "v1alpha1", namespace, "nethealthchecks", name
    )


def test_a_namespace_selector_measures_pods_elsewhere_and_their_jobs_follow_the_check(
    cluster, api_client, namespace, other_namespace, tmp_path
):
    h.install_crd(api_client)
    h.workload(api_client, namespace=other_namespace, name="far")
    # The test's namespace plays the operator's own, where namespaceSelector is honoured.
    env = {"NETHEALTH_NAMESPACE": namespace}
    log = tmp_path / "operator.log"
    body = h.check_body(
        "far", app="far", namespaceSelector={"matchLabels": {"pick": other_namespace}}
    )
    with h.operator(kubeconfig=cluster.kubeconfig, log=log, namespaces=(namespace,), extra_env=env):
        created = h.create_check(api_client, namespace=namespace, body=body)
        uid = created["metadata"]["uid"]
        check = check_waits.Check(api_client=api_client, namespace=namespace, name="far")
        obj = check.pod_reaches(
            pod="far", state="Healthy", timeout=120, what="the pod in the other namespace Healthy"
        )
        assert h.condition(obj, "Ready")["status"] == "True"
        (result,) = obj["status"]["pods"]
        assert result["namespace"] == other_namespace
        listed = _jobs_everywhere(api_client, uid)
        assert listed, "the run's Job is kept in the history"
        for job in listed:
            assert job.metadata.namespace == other_namespace  # where the pod is
            assert not job.metadata.owner_references  # none can point across namespaces
            assert job.metadata.labels[jobs.LABEL_CHECK_NAMESPACE] == namespace
        _delete_check(api_client, namespace=namespace, name="far")
        _wait_jobs(api_client, uid, present=False, timeout=30)

        # Deleted while the operator is down: nothing removes the Jobs but the sweep at start.
        again = h.create_check(
            api_client, namespace=namespace, body={**body, "metadata": {"name": "far2"}}
        )
        uid = again["metadata"]["uid"]
        _wait_jobs(api_client, uid, present=True, timeout=60)
    _delete_check(api_client, namespace=namespace, name="far2")
    time.sleep(5)
    assert _jobs_everywhere(api_client, uid), "only the operator deletes these Jobs"
    with h.operator(kubeconfig=cluster.kubeconfig, log=log, namespaces=(namespace,), extra_env=env):
        _wait_jobs(api_client, uid, present=False, timeout=30)
