"""A check cannot make the probe scan the node it runs on: loopback, link-local (the cloud
metadata address) and the nodes' own addresses are refused before any Job is created, and
allowed only when an administrator says so (docs/security.md)."""

from __future__ import annotations

import pathlib
from typing import Any

import operator_harness as h
import pytest
from kubernetes import client

from nethealth import model
from nethealth.detection import targetsafety

pytestmark = pytest.mark.e2e


def _refused(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    return h.wait_for(
        api_client,
        namespace=namespace,
        name=name,
        until=lambda o: h.condition(o, "Ready").get("reason") == model.Reason.TARGET_NOT_ALLOWED,
        timeout=60,
        what=f"{name} refused with TargetNotAllowed",
    )


def test_the_metadata_address_is_refused_naming_the_field_and_no_job_runs(
    api_client: client.ApiClient, namespace: str, operator_for: h.Running
) -> None:
    h.workload(api_client, namespace=namespace, name="app")
    body = h.check_body("meta", app="app", targets=[h.API_TARGET])
    body["spec"]["targets"] = [h.API_TARGET, {"name": "md", "host": "169.254.169.254", "port": 80}]
    created = h.create_check(api_client, namespace=namespace, body=body)
    ready = h.condition(_refused(api_client, namespace=namespace, name="meta"), "Ready")
    assert ready["status"] == "False"
    assert ready["message"].startswith("spec.targets[1].host '169.254.169.254' (target 'md')")
    assert targetsafety.SETTING in ready["message"]
    assert not h.probe_jobs(api_client, namespace=namespace, check_uid=created["metadata"]["uid"])
    warnings = h.events(api_client, namespace=namespace, kind=model.KIND, name="meta")
    assert [e for e in warnings if e.reason == model.Reason.TARGET_NOT_ALLOWED]


def test_a_nodes_own_address_is_refused_before_a_job_is_created(
    api_client: client.ApiClient, namespace: str, operator_for: h.Running, cluster: Any
) -> None:
    h.workload(api_client, namespace=namespace, name="app")
    node_ip = str(cluster.nodes[-1].ip)
    body = h.check_body("node", app="app")
    body["spec"]["targets"] = [{"name": "kubelet", "host": node_ip, "port": 10250}]
    created = h.create_check(api_client, namespace=namespace, body=body)
    ready = h.condition(_refused(api_client, namespace=namespace, name="node"), "Ready")
    assert f"spec.targets[0].host '{node_ip}'" in ready["message"]
    assert "an address of a node" in ready["message"]
    assert not h.probe_jobs(api_client, namespace=namespace, check_uid=created["metadata"]["uid"])


def test_an_administrator_may_allow_node_local_targets(
    api_client: client.ApiClient, namespace: str, cluster: Any, tmp_path: pathlib.Path
) -> None:
    h.install_crd(api_client)
    h.workload(api_client, namespace=namespace, name="app")
    body = h.check_body("allowed", app="app")
    body["spec"]["targets"] = [{"name": "lo", "host": "127.0.0.1", "port": 9}]
    with h.operator(
        kubeconfig=cluster.kubeconfig,
        log=tmp_path / "operator.log",
        namespaces=(namespace,),
        extra_env={targetsafety.SETTING: "true"},
    ):
        created = h.create_check(api_client, namespace=namespace, body=body)
        h.wait_for(
            api_client,
            namespace=namespace,
            name="allowed",
            until=lambda o: bool(
                h.probe_jobs(api_client, namespace=namespace, check_uid=created["metadata"]["uid"])
            ),
            timeout=60,
            what="a probe Job for a loopback target an administrator allowed",
        )
