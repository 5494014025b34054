"""The cluster benchmarks run end to end at a tiny size (their figures are not asserted,
only that they were measured and that nothing of the benchmark is left behind)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import kubernetes
import pytest

pytestmark = pytest.mark.e2e

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"
SCALE_LABEL = "nethealth.bench/scale"  # benchmarks/fakecluster.RUN_LABEL


def _run(cluster, script: str, *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_fault_latency_benchmark_times_a_fault_to_degraded_and_cleans_up(cluster, api_client):
    out = _run(
        cluster,
        "fault_latency.py",
        "--runs",
        "1",
        "--interval",
        "30s",
        "--mode",
        "Auto",
        "--timeout",
        "150",
        timeout=540,
    )
    assert "fault → Degraded: min" in out, out  # the operator did degrade the faulted pod
    assert "goal ≤ 90 s" in out
    assert "fault → patch:" in out or "patch: " in out
    namespaces = kubernetes.client.CoreV1Api(api_client).list_namespace().items
    assert not [n.metadata.name for n in namespaces if n.metadata.name.startswith("nhb-lat-")]


def test_operator_scale_benchmark_reports_every_check_and_removes_its_fake_nodes(
    cluster, api_client
):
    out = _run(
        cluster,
        "operator_scale.py",
        "--checks",
        "5",
        "--pods",
        "20",
        "--nodes",
        "2",
        "--namespaces",
        "2",
        "--interval",
        "30s",
        "--window",
        "30s",
        "--baseline-window",
        "10s",
        timeout=540,
    )
    assert "operator: 5 of 5 checks reported" in out, out
    for row in ("| peak RSS |", "| CPU per interval", "| status writes per check", "| API"):
        assert row in out
    core = kubernetes.client.CoreV1Api(api_client)
    assert not core.list_node(label_selector=SCALE_LABEL).items
    assert not core.list_namespace(label_selector=SCALE_LABEL).items
    leases = kubernetes.client.CoordinationV1Api(api_client).list_namespaced_lease(
        "kube-node-lease", label_selector=SCALE_LABEL
    )
    assert not leases.items
