"""The operator's loop on the real node: real probe Jobs (the project's image, hostPID,
SYS_ADMIN+SYS_PTRACE) enter real pods' network namespaces; faults are injected into a
pod's namespace from the node; the check's status, Events and Jobs follow.

Checks here run every 30 s (the CRD's minimum) with 20 connects over 4 s and need 2
failing runs for Degraded and 2 passing runs to recover, so each scenario takes one to
three minutes. Figures (times to a state, Jobs, status writes) are printed with -s.
"""

from __future__ import annotations

import time

import check_waits
import operator_harness as h
import pytest
from kubernetes import client

from nethealth.detection import jobs, scheduling
from nethealth.kube import blocking
from nethealth.testing import faults

pytestmark = pytest.mark.e2e


def _figure(text: str) -> None:
    print(f"\nFIGURE {text}")


def test_a_healthy_pod_gets_healthy_and_old_jobs_are_cleaned_up(
    api_client, namespace, operator_for, tmp_path
):
    h.workload(api_client, namespace=namespace, name="web")
    started = time.monotonic()
    created = h.create_check(api_client, namespace=namespace, body=h.check_body("web", app="web"))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="web")
    obj = check.pod_reaches(pod="web", state="Healthy", timeout=120)
    _figure(f"healthy pod: Healthy after {time.monotonic() - started:.0f} s")
    assert h.condition(obj, "Ready")["status"] == "True"
    assert h.condition(obj, "Degraded")["status"] == "False"
    assert obj["status"]["summary"]["selected"] == 1
    (result,) = obj["status"]["pods"]
    assert result["class"] == "Healthy"
    assert result["samples"] == 20
    assert obj["status"]["nextRunTime"] > obj["status"]["lastRunTime"]
    # A few more runs: finished Jobs never pile up beyond the history.
    uid = created["metadata"]["uid"]
    check.until(
        what="three more runs",
        timeout=150,
        until=lambda o: (
            len(
                {
                    j.metadata.labels[jobs.LABEL_RUN]
                    for j in h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
                }
            )
            >= scheduling.HISTORY_RUNS
            and o["status"]["lastRunTime"] > obj["status"]["lastRunTime"]
        ),
    )
    time.sleep(35)
    listed = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
    runs = {j.metadata.labels[jobs.LABEL_RUN] for j in listed}
    _figure(f"healthy pod: {len(listed)} probe Jobs kept after several runs")
    assert len(runs) <= scheduling.HISTORY_RUNS + 1  # the history, plus one run in flight
    for job in listed:
        (owner,) = job.metadata.owner_references
        assert owner.uid == uid
    # At most one status write per run, plus the first one that observes the spec.
    log = (tmp_path / "operator.log").read_text()
    writes = log.count(f"/namespaces/{namespace}/nethealthchecks/web/status")
    created_jobs = log.count(f'"POST /apis/batch/v1/namespaces/{namespace}/jobs')
    _figure(f"healthy pod: {created_jobs} runs, {writes} status writes, {len(listed)} Jobs kept")
    assert writes <= created_jobs + 1


def test_an_on_off_fault_in_the_pod_namespace_degrades_it_and_it_recovers_with_hysteresis(
    api_client, namespace, operator_for
):
    pod = h.workload(api_client, namespace=namespace, name="ha")
    h.create_check(api_client, namespace=namespace, body=h.check_body("ha", app="ha"))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="ha")
    check.pod_reaches(pod="ha", state="Healthy", timeout=120, what="pod Healthy first")
    with faults.on_off(pod_uid=pod["metadata"]["uid"], port=443):
        faulted = time.monotonic()
        obj = check.pod_reaches(pod="ha", state="Degraded", timeout=150)
        _figure(f"on/off fault: Degraded after {time.monotonic() - faulted:.0f} s")
    cleared = time.monotonic()
    degraded = h.condition(obj, "Degraded")
    assert degraded["status"] == "True"
    assert "ha" in degraded["message"]
    assert "PodNamespace" in degraded["message"]
    (result,) = obj["status"]["pods"]
    assert result["class"] == "PodNamespace"
    assert 0.2 < result["failureRate"] < 1.0  # on/off: some connects fail, not all
    assert "PolicyRule" in (result.get("hint") or "")
    pod_events = h.events(api_client, namespace=namespace, kind="Pod", name="ha")
    assert any(e.reason == "PodNetworkDegraded" for e in pod_events)
    scraped = operator_for.metrics()
    assert f'nethealth_degraded_pods{{check="{namespace}/ha"}} 1.0' in scraped
    assert f'nethealth_probe_runs_total{{check="{namespace}/ha",class="PodNamespace"}}' in scraped
    assert operator_for.healthz() == 200
    # Recovery needs recoveryRuns passing runs: one is not enough.
    recovering = check.until(
        what="pod Recovering",
        timeout=120,
        until=lambda o: h.pod_state(o, "ha") in ("Recovering", "Healthy"),
    )
    assert h.pod_state(recovering, "ha") == "Recovering"
    assert h.condition(recovering, "Degraded")["status"] == "True"
    healthy = check.pod_reaches(pod="ha", state="Healthy", timeout=120, what="pod Healthy again")
    _figure(f"on/off fault: Healthy again {time.monotonic() - cleared:.0f} s after removal")
    assert h.condition(healthy, "Degraded")["status"] == "False"
    pod_events = h.events(api_client, namespace=namespace, kind="Pod", name="ha")
    assert any(e.reason == "PodNetworkRecovered" for e in pod_events)


def test_a_probe_that_cannot_start_is_inconclusive_not_degraded(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="img")
    body = h.check_body(
        "img",
        app="img",
        probe={"image": h.MISSING_IMAGE, "deadline": "15s"},
    )
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="img")
    obj = check.pod_reaches(pod="img", state="Inconclusive", timeout=120)
    assert h.condition(obj, "Degraded")["status"] == "False"
    assert obj["status"]["summary"]["degraded"] == 0
    (result,) = obj["status"]["pods"]
    assert "inconclusive" in result["hint"]
    check_events = h.events(api_client, namespace=namespace, kind="NetHealthCheck", name="img")
    assert any(e.reason == "ProbeInconclusive" for e in check_events)


def _first_probe_job(api_client: client.ApiClient, *, namespace: str, check_uid: str) -> None:
    """Returns as soon as the check's first probe Job exists (the first run has started)."""
    deadline = time.monotonic() + 60
    while not h.probe_jobs(api_client, namespace=namespace, check_uid=check_uid):
        assert time.monotonic() < deadline, "no probe Job was ever created"
        time.sleep(0.2)


def test_deleting_the_check_leaves_no_probe_job_behind(api_client, namespace, operator_for):
    h.workload(api_client, namespace=namespace, name="gone")
    created = h.create_check(api_client, namespace=namespace, body=h.check_body("gone", app="gone"))
    uid = created["metadata"]["uid"]
    _first_probe_job(api_client, namespace=namespace, check_uid=uid)
    client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
        "nethealth.io", "v1alpha1", namespace, "nethealthchecks", "gone"
    )
    deadline = time.monotonic() + 60
    while h.probe_jobs(api_client, namespace=namespace, check_uid=uid):
        assert time.monotonic() < deadline, "probe Jobs outlived their check"
        time.sleep(1)


def test_an_operator_killed_mid_run_adopts_the_run_without_duplicate_jobs(
    cluster, api_client, namespace, tmp_path
):
    h.install_crd(api_client)
    h.workload(api_client, namespace=namespace, name="rs")
    log = tmp_path / "operator.log"
    with h.operator(kubeconfig=cluster.kubeconfig, log=log, namespaces=(namespace,)) as first:
        created = h.create_check(api_client, namespace=namespace, body=h.check_body("rs", app="rs"))
        uid = created["metadata"]["uid"]
        _first_probe_job(api_client, namespace=namespace, check_uid=uid)
        h.stop(first.proc, kill=True)
    (job,) = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
    run = job.metadata.labels[jobs.LABEL_RUN]
    with h.operator(kubeconfig=cluster.kubeconfig, log=log, namespaces=(namespace,)):
        check = check_waits.Check(api_client=api_client, namespace=namespace, name="rs")
        obj = check.pod_reaches(pod="rs", state="Healthy", timeout=90, what="the adopted run")
        listed = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
    of_run = [j for j in listed if j.metadata.labels[jobs.LABEL_RUN] == run]
    assert len(of_run) == 1, "the killed operator's run was launched again"
    assert obj["status"]["summary"]["healthy"] == 1


def test_the_operator_writes_only_status_so_a_gitops_reapply_changes_nothing(
    cluster, api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="git")
    body = h.check_body("git", app="git")

    def apply() -> None:
        blocking.apply_manifests(
            docs=[body],
            kubeconfig=str(cluster.kubeconfig),
            namespace=namespace,
            field_manager="argocd-controller",
        )

    apply()
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="git")
    before = check.pod_reaches(pod="git", state="Healthy", timeout=120, what="a finished run")
    meta = before["metadata"]
    assert not meta.get("finalizers")
    assert not [k for k in meta.get("annotations") or {} if "kopf" in k]
    for entry in meta["managedFields"]:
        if entry["manager"] != "argocd-controller":
            assert entry.get("subresource") == "status", entry
    apply()
    after = h.read_check(api_client, namespace=namespace, name="git")
    assert after["metadata"]["generation"] == meta["generation"]
    assert after["spec"] == before["spec"]

    def owned(obj: dict[str, object]) -> list[object]:
        fields = obj["metadata"]["managedFields"]  # type: ignore[index]
        return [f["fieldsV1"] for f in fields if f["manager"] == "argocd-controller"]

    assert owned(after) == owned(before)


def test_two_replicas_with_leader_election_launch_each_run_once_and_fail_over(
    cluster, api_client, namespace, tmp_path
):
    h.install_crd(api_client)
    h.workload(api_client, namespace=namespace, name="two")
    # The Lease lives in the operator's namespace; the test's own namespace plays it.
    env = {"NETHEALTH_LEADER_ELECTION": "true", "NETHEALTH_NAMESPACE": namespace}
    coordination = client.CoordinationV1Api(api_client)
    with (
        h.operator(
            kubeconfig=cluster.kubeconfig,
            log=tmp_path / "a.log",
            namespaces=(namespace,),
            extra_env=env,
        ) as first,
        h.operator(
            kubeconfig=cluster.kubeconfig,
            log=tmp_path / "b.log",
            namespaces=(namespace,),
            extra_env=env,
        ) as second,
    ):
        created = h.create_check(
            api_client, namespace=namespace, body=h.check_body("two", app="two")
        )
        uid = created["metadata"]["uid"]
        check = check_waits.Check(api_client=api_client, namespace=namespace, name="two")
        obj = check.pod_reaches(pod="two", state="Healthy", timeout=90, what="a first run")
        holder = coordination.read_namespaced_lease("nethealth-operator", namespace).spec
        leader = first if holder.holder_identity.endswith(f"-{first.proc.pid}") else second
        assert holder.holder_identity.endswith(f"-{leader.proc.pid}")
        h.stop(leader.proc, kill=True)
        killed = time.monotonic()
        check.next_run(after=obj, timeout=120, what="a run by the other")
        _figure(
            f"leader election: next run {time.monotonic() - killed:.0f} s after the leader died"
        )
        listed = h.probe_jobs(api_client, namespace=namespace, check_uid=uid)
    runs = [j.metadata.labels[jobs.LABEL_RUN] for j in listed]
    assert len(runs) == len(set(runs)), f"a run was launched twice: {sorted(runs)}"
    holder = coordination.read_namespaced_lease("nethealth-operator", namespace).spec
    assert not holder.holder_identity.endswith(f"-{leader.proc.pid}")


def test_a_deleted_pod_leaves_status_and_the_check_says_nothing_is_selected(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="left")
    h.create_check(api_client, namespace=namespace, body=h.check_body("left", app="left"))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="left")
    first = check.pod_reaches(pod="left", state="Healthy", timeout=90)
    client.CoreV1Api(api_client).delete_namespaced_pod("left", namespace, grace_period_seconds=0)
    obj = check.next_run(after=first, timeout=90, what="the next run")
    assert not obj["status"].get("pods")
    assert obj["status"]["summary"]["selected"] == 0
    ready = h.condition(obj, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoPodsSelected")
    assert "spec.selector" in ready["message"]


def test_a_namespace_whose_pod_security_forbids_the_probe_gives_inconclusive(
    api_client, namespace, operator_for
):
    core = client.CoreV1Api(api_client)
    h.workload(api_client, namespace=namespace, name="psa")
    # From now on, new pods must meet "baseline": the probe's hostPID pod cannot.
    core.patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    )
    body = h.check_body("psa", app="psa", probe={"deadline": "15s"})
    h.create_check(api_client, namespace=namespace, body=body)
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="psa")
    obj = check.pod_reaches(pod="psa", state="Inconclusive", timeout=120)
    assert h.condition(obj, "Degraded")["status"] == "False"
    (result,) = obj["status"]["pods"]
    assert "PodSecurity" in result["hint"], result


def test_a_selector_change_moves_the_check_to_the_newly_selected_pods(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="old")
    h.workload(api_client, namespace=namespace, name="new")
    h.create_check(api_client, namespace=namespace, body=h.check_body("sel", app="old"))
    check = check_waits.Check(api_client=api_client, namespace=namespace, name="sel")
    check.pod_reaches(pod="old", state="Healthy", timeout=90)
    patched = client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
        "nethealth.io",
        "v1alpha1",
        namespace,
        "nethealthchecks",
        "sel",
        {"spec": {"selector": {"matchLabels": {"app": "new"}}}},
    )
    obj = check.until(
        what="pod new measured",
        timeout=90,
        until=lambda o: h.pod_state(o, "new") is not None,
    )
    assert h.pod_state(obj, "old") is None
    assert obj["status"]["observedGeneration"] == patched["metadata"]["generation"]
