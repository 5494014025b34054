"""The operator, run as its own process against the real API server, accepts checks.

These tests start ``nethealth operator`` exactly as a user would (the console script,
the cluster's kubeconfig) and watch what it writes into ``status``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import operator_harness as h
import pytest
from kubernetes import client, utils

from nethealth import model
from nethealth.devcluster import images

# A cluster-wide operator serves every test's checks: next to the parallel tests' own
# operators it made extra Jobs and status writes in their namespaces (a CI failure).
pytestmark = pytest.mark.e2e_serial


@pytest.fixture(scope="module")
def crd_installed(api_client):
    h.install_crd(api_client)


@pytest.fixture(scope="module")
def operator_process(cluster, crd_installed, tmp_path_factory) -> Iterator[h.Running]:
    """The operator watching every namespace, as a cluster-wide install runs it."""
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with h.operator(kubeconfig=cluster.kubeconfig, log=log) as running:
        yield running


def _check_body(
    name: str, *, namespace_selector: dict[str, object] | None = None
) -> dict[str, object]:
    spec: dict[str, object] = {
        "selector": {"matchLabels": {"app": name}},
        "targets": [{"name": "gateway", "host": "198.51.100.1", "port": 80}],
    }
    if namespace_selector is not None:
        spec["namespaceSelector"] = namespace_selector
    return {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": name},
        "spec": spec,
    }


def _wait_for_ready(api, *, namespace: str, name: str, generation: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    obj: dict[str, object] = {}
    while time.monotonic() < deadline:
        obj = api.get_namespaced_custom_object(
            model.GROUP, model.VERSION, namespace, model.PLURAL, name
        )
        status = obj.get("status") or {}
        if status.get("observedGeneration") == generation:
            return obj
        time.sleep(0.5)
    pytest.fail(f"operator never observed generation {generation}: {obj.get('status')}")


def _ready(obj: dict[str, object]) -> dict[str, object]:
    status = obj["status"]
    assert isinstance(status, dict)
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def _pod(name: str, *, app: str, image: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }


def test_a_check_gets_ready_counting_only_pods_that_can_be_measured(
    api_client, namespace, operator_process
):
    utils.create_from_dict(
        api_client, _pod("app-0", app="app", image=images.WORKLOAD_IMAGE), namespace=namespace
    )
    # Never starts (no such image): left out of the denominator, not counted as selected.
    utils.create_from_dict(
        api_client, _pod("app-1", app="app", image="does-not-matter"), namespace=namespace
    )
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + 60
    while core.read_namespaced_pod("app-0", namespace).status.phase != "Running":
        assert time.monotonic() < deadline, "the workload pod never ran"
        time.sleep(0.3)
    api = client.CustomObjectsApi(api_client)
    created = api.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, _check_body("app")
    )
    obj = _wait_for_ready(
        api, namespace=namespace, name="app", generation=created["metadata"]["generation"]
    )
    ready = _ready(obj)
    assert ready["status"] == "True"
    assert ready["reason"] == model.Reason.RUNNING
    assert ready["message"] == "1 pod(s) selected"


def test_a_namespace_selector_outside_the_operator_namespace_is_refused(
    api_client, namespace, operator_process
):
    api = client.CustomObjectsApi(api_client)
    body = _check_body("wide", namespace_selector={"matchLabels": {"team": "a"}})
    created = api.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, body
    )
    obj = _wait_for_ready(
        api, namespace=namespace, name="wide", generation=created["metadata"]["generation"]
    )
    ready = _ready(obj)
    assert ready["status"] == "False"
    assert ready["reason"] == model.Reason.NAMESPACE_SELECTOR_NOT_ALLOWED
    assert "spec.namespaceSelector" in ready["message"]


def test_a_probe_image_nobody_allowed_is_refused_and_no_job_runs_it(
    api_client, namespace, operator_process
):
    api = client.CustomObjectsApi(api_client)
    body = _check_body("own-image")
    body["spec"]["probe"] = {"image": "registry.example/someones/probe:1"}  # type: ignore[index]
    created = api.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, body
    )
    obj = _wait_for_ready(
        api, namespace=namespace, name="own-image", generation=created["metadata"]["generation"]
    )
    ready = _ready(obj)
    assert (ready["status"], ready["reason"]) == ("False", model.Reason.PROBE_IMAGE_NOT_ALLOWED)
    assert "spec.probe.image 'registry.example/someones/probe:1'" in str(ready["message"])
    assert not client.BatchV1Api(api_client).list_namespaced_job(namespace).items


def test_an_edit_is_observed_under_its_new_generation(api_client, namespace, operator_process):
    api = client.CustomObjectsApi(api_client)
    created = api.create_namespaced_custom_object(
        model.GROUP, model.VERSION, namespace, model.PLURAL, _check_body("edit")
    )
    _wait_for_ready(
        api, namespace=namespace, name="edit", generation=created["metadata"]["generation"]
    )
    patched = api.patch_namespaced_custom_object(
        model.GROUP,
        model.VERSION,
        namespace,
        model.PLURAL,
        "edit",
        {"spec": {"threshold": {"failureRate": 0.3}}},
    )
    assert patched["metadata"]["generation"] > created["metadata"]["generation"]
    obj = _wait_for_ready(
        api, namespace=namespace, name="edit", generation=patched["metadata"]["generation"]
    )
    assert _ready(obj)["reason"] == model.Reason.NO_PODS_SELECTED
