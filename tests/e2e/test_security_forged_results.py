"""A pod that carries a probe Job's labels but was not made by that Job is not a result.

Anyone who may create pods in a namespace could otherwise forge a probe result (the
operator finds probe pods by labels) and so trigger or undo a remediation. Here the
chart's admission policies are not installed (the operator runs alone, as an
administrator may run it): the operator itself ignores the forged pod
(``detection/provenance.py``). ``test_security_admission.py`` shows the policy refusing
the same pod before it exists.
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs, results
from nethealth.devcluster import images
from nethealth.model import status
from nethealth.probe import report

pytestmark = pytest.mark.e2e

# What a forger would write: the probe's own schema, saying the pod's namespace is broken.
FORGED = {
    "schema": report.SCHEMA,
    "class": "PodNamespace",
    "reason": "forged",
    "namespaces": {"target": {"attempts": 20, "failures": 20, "blocks": [[0, 20]]}},
}


def forged_pod(*, job: Any, name: str = "forged") -> dict[str, Any]:
    """A pod with the Job's labels (and its pod's job-name label) that writes ``FORGED``."""
    labels = {**job.metadata.labels, results.JOB_NAME_LABEL: job.metadata.name}
    script = f"printf '%s' '{json.dumps(FORGED)}' > /dev/termination-log"
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "probe-0",
                    "image": images.WORKLOAD_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", script],
                }
            ],
        },
    }


def first_job(api_client: client.ApiClient, *, namespace: str, uid: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
        if found:
            return found[0]
        time.sleep(0.2)
    pytest.fail("no probe Job within 60 s")


def test_a_forged_result_pod_is_ignored_by_the_operator(
    api_client: client.ApiClient, namespace: str, operator_for: h.Running, tmp_path: pathlib.Path
) -> None:
    core = client.CoreV1Api(api_client)
    h.workload(api_client, namespace=namespace, name="app")
    created = h.create_check(api_client, namespace=namespace, body=h.check_body("c", app="app"))
    job = first_job(api_client, namespace=namespace, uid=created["metadata"]["uid"])
    assert job.metadata.labels[jobs.LABEL_CHECK_UID] == created["metadata"]["uid"]
    core.create_namespaced_pod(namespace, forged_pod(job=job))
    measured = h.wait_for(
        api_client,
        namespace=namespace,
        name="c",
        until=lambda o: h.pod_state(o, "app") is not None,
        timeout=90,
        what="the first run's verdict on app",
    )
    # The forged pod finished first and is the newest with the Job's labels: believed, it
    # would make app Suspect (20 of 20 connects failed in its own namespace).
    forged = core.read_namespaced_pod("forged", namespace)
    assert forged.status.phase == "Succeeded"
    assert h.pod_state(measured, "app") == status.PodState.HEALTHY
    assert f"ignoring pod {namespace}/forged" in (tmp_path / "operator.log").read_text()
