"""The chart's admission policies on the real API server (docs/security.md, threat table).

Every refusal here comes from the API server evaluating the chart's own rendered
ValidatingAdmissionPolicies; the operator's service account is impersonated with the
chart's own ClusterRole bound, so RBAC allows each request and only a policy can refuse
it. Where a request must pass (the operator's real probe Job, its real hostNetwork patch),
the test says so too: a policy that refused everything would fail here.
"""

from __future__ import annotations

import copy
import datetime
import pathlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import admission_harness as ah
import operator_harness as h
import pytest
from kubernetes import client
from kubernetes.stream import stream
from test_security_forged_results import forged_pod

from nethealth import model
from nethealth.detection import jobs, results, selection
from nethealth.devcluster import images, sleepers
from nethealth.remediation import hostnetwork

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def policies(api_client: client.ApiClient, helm: pathlib.Path) -> Iterator[ah.Policies]:
    with ah.installed(api_client, helm, session=f"s{secrets.token_hex(3)}") as installed:
        yield installed


@pytest.fixture
def sealed(api_client: client.ApiClient, namespace: str, policies: ah.Policies) -> str:
    ah.seal(api_client, namespace=namespace, policies=policies)
    return namespace


@pytest.fixture
def as_operator(cluster: Any, policies: ah.Policies) -> Iterator[client.ApiClient]:
    with ah.acting_as(cluster.kubeconfig, policies.operator_user) as impersonated:
        yield impersonated


def probe_job(*, namespace: str, pod: dict[str, Any], image: str | None = None) -> dict[str, Any]:
    """The Job the operator would create to measure ``pod`` (jobs.manifest, unchanged)."""
    owner = jobs.Owner(name="sec", namespace=namespace, uid=f"uid-{secrets.token_hex(4)}")
    ref = selection.PodRef(
        namespace=namespace,
        name=pod["metadata"]["name"],
        uid=pod["metadata"]["uid"],
        node=pod["spec"]["nodeName"],
        ip=pod["status"]["podIP"],
        remediated=False,
    )
    body = h.check_body("sec", app="app")
    if image is not None:
        body["spec"]["probe"]["image"] = image
        # A probe pod that stays up to be tried: not ended by the Job's deadline (the
        # check's 40 s) before a loaded cluster got it running and the test saw it.
        body["spec"]["probe"]["deadline"] = "5m"
    spec = model.parse_spec(body["spec"])
    return jobs.manifest(
        owner=owner,
        spec=spec,
        node=ref.node,
        hostname=ref.node,
        pods=[ref],
        run=jobs.run_id(datetime.datetime.now(datetime.UTC)),
        part=0,
        image=images.NETHEALTH_IMAGE,
    )


# --- probe pods: no way in, no forgery ---------------------------------------------------


def test_a_forged_result_pod_is_refused_at_admission(
    api_client: client.ApiClient, sealed: str
) -> None:
    core = client.CoreV1Api(api_client)
    job = client.V1Job(
        metadata=client.V1ObjectMeta(
            name="nhp-sec-0123456789",
            labels={jobs.LABEL_CHECK_UID: "uid-x", selection.PROBE_LABEL: "true"},
        )
    )
    why = ah.refused(lambda: core.create_namespaced_pod(sealed, forged_pod(job=job)))
    assert "may only be created by the Job controller" in why


def test_labels_of_a_probe_cannot_be_given_to_an_existing_pod(
    api_client: client.ApiClient, sealed: str
) -> None:
    h.workload(api_client, namespace=sealed, name="app")
    core = client.CoreV1Api(api_client)
    relabel = {"metadata": {"labels": {jobs.LABEL_CHECK_UID: "uid-x"}}}
    why = ah.refused(lambda: core.patch_namespaced_pod("app", sealed, relabel))
    assert "cannot be given or changed" in why


def test_a_checks_job_from_anyone_but_the_operator_is_refused(
    api_client: client.ApiClient, sealed: str, as_operator: client.ApiClient
) -> None:
    pod = h.workload(api_client, namespace=sealed, name="app")
    manifest = probe_job(namespace=sealed, pod=pod)
    batch = client.BatchV1Api(api_client)
    why = ah.refused(lambda: batch.create_namespaced_job(sealed, manifest, dry_run="All"))
    assert "may only be created by the nethealth operator" in why
    # The operator itself may: the policies let the real probe Job through.
    client.BatchV1Api(as_operator).create_namespaced_job(sealed, manifest, dry_run="All")


def test_no_one_can_exec_attach_or_add_a_container_to_a_probe_pod(
    api_client: client.ApiClient, sealed: str, as_operator: client.ApiClient
) -> None:
    pod = h.workload(api_client, namespace=sealed, name="app")
    # A probe pod that stays up: the pause image, allowed as a probe image by this release.
    manifest = probe_job(namespace=sealed, pod=pod, image=images.PAUSE_IMAGE)
    client.BatchV1Api(as_operator).create_namespaced_job(sealed, manifest)
    probe = _running_pod_of(api_client, namespace=sealed, job=manifest["metadata"]["name"])
    core = client.CoreV1Api(api_client)
    name = probe.metadata.name
    for what, call in (
        ("exec", lambda: _exec(core, namespace=sealed, pod=name)),
        ("attach", lambda: _attach(core, namespace=sealed, pod=name)),
    ):
        why = _connect_refusal(call)
        # The websocket handshake may carry only the status line, not the policy's words.
        assert "nethealth probe pod" in why or "403" in why, (what, why)
    debug = copy.deepcopy(probe.spec.ephemeral_containers or [])
    debug.append({"name": "debug", "image": images.WORKLOAD_IMAGE, "command": ["sh"]})
    why = ah.refused(
        lambda: core.patch_namespaced_pod_ephemeralcontainers(
            name, sealed, {"spec": {"ephemeralContainers": debug}}
        )
    )
    assert "nethealth probe pod" in why


def _running_pod_of(api_client: client.ApiClient, *, namespace: str, job: str) -> Any:
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(
            namespace, label_selector=f"{results.JOB_NAME_LABEL}={job}"
        ).items
        if pods and pods[0].status.phase == "Running":
            return pods[0]
        time.sleep(0.5)
    seen = [(p.metadata.name, p.status.phase) for p in pods]
    status = client.BatchV1Api(api_client).read_namespaced_job(job, namespace).status
    events = [
        f"{e.reason}: {e.message}"
        for e in core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={job}"
        ).items
    ]
    pytest.fail(
        f"the probe pod of Job {job} never ran within 90 s: pods {seen},"
        f" Job conditions {status.conditions}, Job events {events}"
    )


def _exec(core: client.CoreV1Api, *, namespace: str, pod: str) -> None:
    # Not waiting for output: an admitted session is closed at once (and the test fails).
    stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=["true"],
        stderr=True,
        stdout=True,
        _preload_content=False,
    ).close()


def _attach(core: client.CoreV1Api, *, namespace: str, pod: str) -> None:
    stream(
        core.connect_get_namespaced_pod_attach,
        pod,
        namespace,
        stdout=True,
        _preload_content=False,
    ).close()


def _connect_refusal(call: Any) -> str:
    """The refusal of a streaming (websocket) request: the API server's 403 body."""
    with pytest.raises(Exception) as caught:  # noqa: PT011 - ApiException or the websocket's
        call()
    error = caught.value
    if isinstance(error, client.ApiException):
        return f"{error.status} {error.reason} {error.body}"
    return str(error)


# --- the operator's own token --------------------------------------------------------------


def test_a_stolen_operator_token_cannot_run_another_image_command_or_privilege(
    api_client: client.ApiClient, sealed: str, as_operator: client.ApiClient
) -> None:
    pod = h.workload(api_client, namespace=sealed, name="app")
    batch = client.BatchV1Api(as_operator)
    real = probe_job(namespace=sealed, pod=pod)

    def changed(change: Any) -> dict[str, Any]:
        job = copy.deepcopy(real)
        change(job["spec"]["template"]["spec"])
        return job

    def container(spec: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = spec["containers"][0]
        return found

    cases = {
        "image": lambda s: container(s).update(image=images.WORKLOAD_IMAGE),
        "command": lambda s: container(s).update(command=["sh", "-c", "id"]),
        "args": lambda s: container(s).update(args=["operator"]),
        "privileged": lambda s: container(s)["securityContext"].update(privileged=True),
        "capabilities": lambda s: container(s)["securityContext"]["capabilities"].update(
            add=["SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN"]
        ),
        "env": lambda s: container(s).update(env=[{"name": "X", "value": "1"}]),
        "hostPath": lambda s: s.update(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
        "token": lambda s: s.update(automountServiceAccountToken=True),
        "hostNetwork": lambda s: s.update(hostNetwork=True),
    }
    for what, change in cases.items():
        job = changed(change)
        why = ah.refused(lambda job=job: batch.create_namespaced_job(sealed, job, dry_run="All"))
        assert "nethealth" in why, what
    batch.create_namespaced_job(sealed, real, dry_run="All")


def test_a_stolen_operator_token_changes_only_host_network_and_dns_policy(
    api_client: client.ApiClient, sealed: str, as_operator: client.ApiClient
) -> None:
    apps_admin = client.AppsV1Api(api_client)
    body = sleepers.deployment("app")
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    workload = apps_admin.create_namespaced_deployment(sealed, body)
    apps = client.AppsV1Api(as_operator)
    key = hostnetwork.WorkloadKey(kind=hostnetwork.Kind("Deployment"), namespace=sealed, name="app")
    current = api_client.sanitize_for_serialization(workload)

    def apply(patch: dict[str, Any]) -> Any:
        return apps.patch_namespaced_deployment(
            "app",
            sealed,
            patch,
            field_manager=hostnetwork.FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    # The operator's own patch and revert pass (hostPort defaulting included).
    patch = hostnetwork.patch_body(
        key=key,
        workload=current,
        check="sec/c",
        check_uid="uid-c",
        revert_on_delete=True,
        now=datetime.datetime.now(datetime.UTC),
    )
    patched = api_client.sanitize_for_serialization(apply(patch))
    assert patched["spec"]["template"]["spec"]["hostNetwork"] is True
    revert = hostnetwork.revert_body(key=key, workload=patched)
    assert revert is not None
    apply(revert)

    def merge(patch: dict[str, Any]) -> Any:
        return apps.patch_namespaced_deployment(
            "app", sealed, patch, _content_type="application/strategic-merge-patch+json"
        )

    image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "evil:1"}]}}}}
    env = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}
            }
        }
    }
    volumes = {
        "spec": {"template": {"spec": {"volumes": [{"name": "r", "hostPath": {"path": "/"}}]}}}
    }
    account = {"spec": {"template": {"spec": {"serviceAccountName": "admin"}}}}
    replicas = {"spec": {"replicas": 5}}
    annotation = {"metadata": {"annotations": {"example.org/x": "1"}}}
    for what, change in (
        ("image", image),
        ("env", env),
        ("volumes", volumes),
        ("serviceAccountName", account),
        ("replicas", replicas),
        ("annotation", annotation),
    ):
        why = ah.refused(lambda change=change: merge(change))
        assert "nethealth operator may" in why, what
    ours = {"metadata": {"annotations": {"nethealth.io/remediated-by": "sec/c"}}}
    merge(ours)
    # Creating a workload (also by applying to a missing one) is refused by RBAC first (the
    # role grants no create); the policy refuses it too, should a role ever grant it.
    created = sleepers.deployment("another")
    ah.refused(lambda: apps.create_namespaced_deployment(sealed, created, dry_run="All"))
