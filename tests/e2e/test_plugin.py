"""The kubectl plugin on the real node, run the way a user runs it: ``kubectl nethealth``
(kubectl finds the ``kubectl-nethealth`` console script on PATH; without kubectl the
script itself is run). Its probe Jobs are real (the project's image, hostPID, the two
capabilities) and faults are injected into a real pod's namespace from the node.

Diagnoses here use 20-30 connects over 4-6 s, so each takes about 8 s. Their reports
are printed with -s (docs/kubectl-plugin.md shows them).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import check_waits
import operator_calls as workloads
import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs
from nethealth.devcluster import images, sleepers
from nethealth.plugin import diagnosis
from nethealth.remediation import hostnetwork
from nethealth.testing import faults

pytestmark = pytest.mark.e2e

SCRIPT = pathlib.Path(sys.executable).with_name("kubectl-nethealth")
FAST = ["--attempts", "20", "--spread", "4", "--connect-timeout", "1", "--timeout", "60"]
RUN_TIMEOUT = 120.0


def _plugin() -> list[str]:
    """How a user runs it: through kubectl when there is one, else the script itself."""
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: install the project (pip install -e .) for it")
    return ["kubectl", "nethealth"] if shutil.which("kubectl") else [str(SCRIPT)]


def _env(cluster: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "KUBECONFIG": str(cluster.kubeconfig),
        "NETHEALTH_PROBE_IMAGE": images.NETHEALTH_IMAGE,
    }


def _run(cluster: Any, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_plugin(), *args],
        env=_env(cluster),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    command = " ".join(args)
    print(f"\n$ kubectl nethealth {command}\n{done.stderr}{done.stdout}(exit {done.returncode})")
    return done


def _left_behind(api_client: Any, namespace: str) -> list[str]:
    """Diagnose Jobs and their pods still in the namespace (terminating ones count)."""
    selector = jobs.LABEL_DIAGNOSE
    batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    found = [
        f"job/{j.metadata.name}"
        for j in batch.list_namespaced_job(namespace, label_selector=selector).items
    ]
    found += [
        f"pod/{p.metadata.name}"
        for p in core.list_namespaced_pod(namespace, label_selector=selector).items
    ]
    return found


def test_a_healthy_pod_is_healthy_with_exit_0_and_its_job_is_gone(cluster, api_client, namespace):
    h.workload(api_client, namespace=namespace, name="web")
    done = _run(cluster, "diagnose", "web", "-n", namespace, "-o", "json", *FAST)
    assert done.returncode == diagnosis.EXIT_HEALTHY, done.stderr
    parsed = json.loads(done.stdout)
    assert parsed["verdict"] == "Healthy"
    assert parsed["result"]["class"] == "Healthy"
    assert parsed["source"] == "log"  # the full document, per-CPU counts included
    target = parsed["result"]["namespaces"]["target"]
    assert target["attempts"] == 20
    assert target["failures"] == 0
    assert set(target["cpus"]) == {str(cpu) for cpu in range(os.cpu_count() or 1)}
    # The default target is the API server through the kubernetes Service.
    (probed,) = parsed["result"]["targets"]
    assert (probed["name"], probed["host"], probed["port"]) == ("kubernetes", "203.0.113.1", 443)
    steps = [line for line in done.stderr.splitlines() if line.startswith("diagnose: ")]
    for expected in ("created probe Job", "probe running", "probe finished", "deleted probe Job"):
        assert any(expected in line for line in steps), steps
    assert _left_behind(api_client, namespace) == []


def test_an_on_off_fault_in_the_pod_namespace_is_degraded_with_exit_1(
    cluster, api_client, namespace
):
    pod = h.workload(api_client, namespace=namespace, name="ha")
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        done = _run(
            cluster,
            "diagnose",
            "ha",
            "-n",
            namespace,
            "--target",
            "api=203.0.113.1:443",
            "--attempts",
            "30",
            "--spread",
            "6",
            "--connect-timeout",
            "1",
        )
    assert done.returncode == diagnosis.EXIT_DEGRADED, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Pod        {namespace}/ha on node {pod['spec']['nodeName']}"
    assert any(line.startswith("Class      PodNamespace: only this pod's") for line in lines)
    enetunreach = next(line for line in lines if line.strip().startswith("ENETUNREACH")).split()
    assert int(enetunreach[1]) > 0  # in the pod
    assert enetunreach[2:] == ["-", "-"]  # neither in a fresh pod nor on the node
    assert "PolicyRuleUnreachable" in done.stdout
    assert "advice:" in done.stdout
    strip = next(line for line in lines if line.strip().startswith("target") and "|" in line)
    assert "x" in strip  # on/off: failures in blocks ...
    assert "." in strip  # ... not throughout
    assert lines[-1].startswith("Verdict    Degraded (exit 1): the probe classified a PodNamespace")
    assert _left_behind(api_client, namespace) == []


# As from a shell's foreground: a session started in the background (nohup, `&`) passes
# SIGINT down ignored, and Python then never turns it into KeyboardInterrupt. This execs
# the command (same pid) with SIGINT back at its default.
SIGINT_DEFAULT = (
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
)


def test_ctrl_c_while_it_waits_deletes_the_job(cluster, api_client, namespace):
    h.workload(api_client, namespace=namespace, name="slow")
    args = ["diagnose", "slow", "-n", namespace, "--spread", "60", "--timeout", "90"]
    with subprocess.Popen(
        [*SIGINT_DEFAULT, *_plugin(), *args],
        env=_env(cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 60
            seen: list[str] = []
            while not any("probe running" in line for line in seen):
                assert time.monotonic() < deadline, seen
                seen.append(proc.stderr.readline())
            assert _left_behind(api_client, namespace)  # the Job is there while it runs
            # kubectl execs the plugin: the signal reaches it as a shell's Ctrl-C would.
            os.kill(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=60)
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    print("".join(seen) + rest)
    assert code == diagnosis.EXIT_INTERRUPTED
    assert "deleted probe Job" in rest
    assert _left_behind(api_client, namespace) == []


def test_a_pod_that_cannot_be_measured_is_inconclusive_with_exit_2(cluster, api_client, namespace):
    done = _run(cluster, "diagnose", "missing", "-n", namespace, *FAST)
    assert done.returncode == diagnosis.EXIT_INCONCLUSIVE
    assert f"pod {namespace}/missing not found" in done.stderr


def test_status_lists_a_check_and_its_pod(cluster, api_client, namespace, operator_for):
    h.workload(api_client, namespace=namespace, name="web")
    h.create_check(api_client, namespace=namespace, body=h.check_body("web", app="web"))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    check.pod_reaches(pod="web", state="Healthy", timeout=120)
    done = _run(cluster, "status", "-n", namespace, "--kubeconfig", str(cluster.kubeconfig))
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split()[:4] == ["CHECK", "READY", "DEGRADED", "POD"]
    assert row.split()[:8] == ["web", "True", "False", "web", "Healthy", "Healthy", "0%", "of"]
    everywhere = _run(cluster, "status", "-A")
    assert everywhere.returncode == 0
    assert any(line.split()[:2] == [namespace, "web"] for line in everywhere.stdout.splitlines())


def test_revert_restores_a_workload_patched_by_the_operators_apply(cluster, api_client, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, sleepers.deployment("web"))
    key = hostnetwork.WorkloadKey(kind=hostnetwork.Kind.DEPLOYMENT, namespace=namespace, name="web")
    before = workloads.read_workload(api_client, key)
    assert before is not None
    original = before["spec"]["template"]["spec"]
    body = hostnetwork.patch_body(
        key=key,
        workload=before,
        check=f"{namespace}/web-check",
        check_uid="uid-of-web-check",
        revert_on_delete=True,
        now=datetime.datetime.now(datetime.UTC),
    )
    workloads.apply(api_client, body)

    done = _run(cluster, "revert", "deployment/web", "-n", namespace)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"deployment/web in namespace {namespace}: restored")
    assert "restored hostNetwork unset, dnsPolicy ClusterFirst" in done.stdout
    assert f"set by check {namespace}/web-check" in done.stdout
    after = workloads.read_workload(api_client, key)
    assert after is not None
    assert after["spec"]["template"]["spec"] == original
    assert hostnetwork.ORIGINAL_ANNOTATION not in (after["metadata"].get("annotations") or {})

    again = _run(cluster, "revert", "deploy/web", "-n", namespace)
    assert again.returncode == 0
    assert "nothing recorded, nothing restored" in again.stdout
    missing = _run(cluster, "revert", "sts/nope", "-n", namespace)
    assert missing.returncode == 1
    assert "statefulset/nope" in missing.stderr
