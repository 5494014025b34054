"""`nethealth demo`, the README's first command, works against a real cluster.

The session's node plays the user's cluster (``--use-kubeconfig``), so the test covers
everything the demo does after the cluster is up: CRD, demo objects, operator, status.
"""

from __future__ import annotations

import os
import subprocess
import sys

from kubernetes import client

DEMO_NAMESPACE = "t-demo"


def test_the_demo_shows_its_pod_healthy_then_degraded_by_an_injected_fault(cluster, api_client):
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nethealth",
                "demo",
                "--use-kubeconfig",
                "--namespace",
                DEMO_NAMESPACE,
                "--duration",
                "150",
                "--inject-fault",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "applied Deployment/nethealth-demo" in done.stdout
        assert "applied NetHealthCheck/nethealth-demo" in done.stdout
        # The operator saw the check and counted the demo's pod.
        assert "nethealth-demo: selected=1" in done.stdout, done.stdout + done.stderr
        assert "Ready=True" in done.stdout
        # The demo pod was measured Healthy, the fault went in, and the check saw it.
        assert "=Healthy" in done.stdout, done.stdout
        assert "injecting an on/off fault" in done.stdout
        assert "Degraded: pod t-demo/nethealth-demo" in done.stdout, done.stdout
        # The story ends with the verdict a person acts on: class, rate and top hint.
        assert "step 3/3: the check found it: pod t-demo/nethealth-demo" in done.stdout
        assert "class:     PodNamespace" in done.stdout, done.stdout
        assert "remediation (DryRun): Deployment/t-demo/nethealth-demo" in done.stdout
        assert '"hostNetwork": true' in done.stdout
        assert "top hint:  PolicyRule" in done.stdout, done.stdout
        # The operator's log went to its file, not into the story.
        assert "kopf" not in done.stdout, done.stdout
    finally:
        core = client.CoreV1Api(api_client)
        try:
            core.delete_namespace(DEMO_NAMESPACE)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
