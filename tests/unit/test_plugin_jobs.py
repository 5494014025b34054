"""The one-off probe Job of ``diagnose``: a check's Job for one pod, with every safety
kept and nothing that ties it to a check (the operator's sweep must leave it alone)."""

from __future__ import annotations

import re

from plugin_builders import IMAGE, POD, SESSION, TARGET, job

from nethealth import model
from nethealth.detection import jobs, selection
from nethealth.plugin import options


def checks_job(*, owner, spec):
    return jobs.manifest(
        owner=owner,
        spec=spec,
        node="node-a",
        hostname="node-a",
        pods=[POD],
        run="r",
        part=0,
        image=IMAGE,
    )


def test_it_keeps_the_safety_of_a_checks_job():
    made = job()
    spec = made["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 60  # --timeout
    assert spec["ttlSecondsAfterFinished"] == jobs.TTL_SECONDS
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {selection.HOSTNAME_LABEL: "node-a"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["hostPID"] is True
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["SYS_ADMIN", "SYS_PTRACE"],
    }
    assert container["securityContext"]["privileged"] is False


def test_its_probe_container_is_the_one_a_check_with_the_same_spec_runs():
    spec = options.probe_spec(
        targets=[TARGET], attempts=30, spread=6.0, connect_timeout=1.0, timeout=60.0
    )
    owner = jobs.Owner(name="web", namespace="apps", uid="check-uid")
    checks = checks_job(owner=owner, spec=spec)
    assert (
        job()["spec"]["template"]["spec"]["containers"]
        == (checks["spec"]["template"]["spec"]["containers"])
    )
    args = job()["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["probe", "--pod-uid", POD.uid]
    assert "api=203.0.113.1:443" in args


def test_it_has_no_owner_and_no_check_label_so_the_operators_sweep_ignores_it():
    made = job()
    assert "ownerReferences" not in made["metadata"]
    for labels in (made["metadata"]["labels"], made["spec"]["template"]["metadata"]["labels"]):
        assert jobs.LABEL_CHECK_UID not in labels  # jobs.managed_selector() needs it
        assert jobs.LABEL_CHECK not in labels
        assert labels[jobs.LABEL_DIAGNOSE] == SESSION
        assert labels[selection.PROBE_LABEL] == "true"  # never measured by a check
        assert labels["app.kubernetes.io/managed-by"] == jobs.DIAGNOSE_MANAGED_BY


def test_it_is_named_after_the_pod_and_the_session_within_the_name_limit():
    made = job()
    assert made["metadata"]["name"] == f"nhd-ha-{SESSION}"
    assert made["metadata"]["namespace"] == POD.namespace
    long = selection.PodRef(
        namespace="apps", name="x" * 63 + ".Upper_case", uid="u", node="n", ip="198.51.100.1"
    )
    spec = options.probe_spec(
        targets=[TARGET], attempts=30, spread=6.0, connect_timeout=1.0, timeout=60.0
    )
    name = jobs.one_off(pod=long, hostname="n", spec=spec, image=IMAGE, session=SESSION)[
        "metadata"
    ]["name"]
    assert len(name) <= 52
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


def test_the_pod_it_measures_is_recorded_as_for_a_checks_job():
    (measured,) = jobs.measured_pods(job())
    assert (measured.container, measured.namespace, measured.name, measured.uid) == (
        "probe-0",
        POD.namespace,
        POD.name,
        POD.uid,
    )


def test_a_checks_own_job_is_unchanged_by_the_addition():
    spec = options.probe_spec(
        targets=[TARGET], attempts=30, spread=6.0, connect_timeout=1.0, timeout=60.0
    )
    owner = jobs.Owner(name="web", namespace="apps", uid="check-uid")
    made = checks_job(owner=owner, spec=spec)
    assert made["metadata"]["labels"][jobs.LABEL_CHECK_UID] == "check-uid"
    assert made["metadata"]["ownerReferences"][0]["kind"] == model.KIND
