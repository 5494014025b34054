"""The probe Job of a run on a node: pinned, least privilege, bounded, owned, labelled."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from operator_builders import check, node, pod

from nethealth.detection import jobs, selection

OWNER = jobs.Owner(name="web", namespace="apps", uid="check-uid")
RUN = jobs.run_id(datetime.datetime(2026, 1, 1, 12, 0, 5, tzinfo=datetime.UTC))


def _plan(pods: list[dict[str, Any]], **spec: Any) -> list[dict[str, Any]]:
    chosen = selection.select(pods=pods, nodes=[node("node-a"), node("node-b", hostname="hb")])
    return jobs.plan(
        owner=OWNER,
        spec=check(**spec).spec,
        selected=chosen,
        run=RUN,
        image="example/nethealth:1",
    )


def test_one_job_per_node_measures_every_selected_pod_there_one_container_each() -> None:
    manifests = _plan([pod("a"), pod("b"), pod("c", node="node-b")])
    assert len(manifests) == 2
    containers = [c for c in manifests[0]["spec"]["template"]["spec"]["containers"]]
    assert [c["args"][2] for c in containers] == ["uid-a", "uid-b"]
    assert [m.name for m in jobs.measured_pods(manifests[0]["spec"]["template"])] == ["a", "b"]


def test_many_pods_on_one_node_are_split_into_bounded_jobs() -> None:
    count = jobs.MAX_CONTAINERS + 3
    manifests = _plan([pod(f"p{i:02d}") for i in range(count)])
    sizes = [len(m["spec"]["template"]["spec"]["containers"]) for m in manifests]
    assert sizes == [jobs.MAX_CONTAINERS, 3]
    assert len({m["metadata"]["name"] for m in manifests}) == 2


def test_the_job_is_pinned_to_its_node_and_tolerates_every_taint() -> None:
    (manifest,) = _plan([pod("c", node="node-b")])
    pod_spec = manifest["spec"]["template"]["spec"]
    assert pod_spec["nodeSelector"] == {"kubernetes.io/hostname": "hb"}
    assert pod_spec["tolerations"] == [{"operator": "Exists"}]


def test_the_job_has_least_privilege_and_no_token() -> None:
    (manifest,) = _plan([pod("a")])
    pod_spec = manifest["spec"]["template"]["spec"]
    assert pod_spec["hostPID"] is True
    assert pod_spec["automountServiceAccountToken"] is False
    (container,) = pod_spec["containers"]
    security = container["securityContext"]
    assert security["runAsUser"] == 0
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["SYS_ADMIN", "SYS_PTRACE"]}
    assert container["terminationMessagePolicy"] == "File"


def test_the_job_never_retries_ends_at_the_deadline_and_is_owned_by_the_check() -> None:
    (manifest,) = _plan([pod("a")], probe={"deadline": "90s", "interval": "2m"})
    assert manifest["spec"]["backoffLimit"] == 0
    assert manifest["spec"]["activeDeadlineSeconds"] == 90
    assert manifest["spec"]["ttlSecondsAfterFinished"] > 0
    (owner,) = manifest["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("NetHealthCheck", "web", "check-uid")
    labels = manifest["metadata"]["labels"]
    assert labels[jobs.LABEL_CHECK_UID] == "check-uid"
    assert labels[jobs.LABEL_RUN] == RUN
    assert labels[jobs.LABEL_NODE] == "node-a"
    assert manifest["spec"]["template"]["metadata"]["labels"] == labels


def test_the_probe_command_carries_the_spec() -> None:
    (manifest,) = _plan(
        [pod("a")],
        targets=[
            {"name": "api", "host": "203.0.113.1", "port": 443},
            {"name": "v6", "host": "2001:db8::1", "port": 80},
        ],
        probe={"attempts": 30, "spread": "10s", "timeout": "1500ms", "image": "x/y:2"},
        threshold={"minSamples": 20},
    )
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[:2] == ["probe", "--pod-uid"]
    assert "api=203.0.113.1:443" in args
    assert "v6=[2001:db8::1]:80" in args
    assert args[args.index("--attempts") + 1] == "30"
    assert args[args.index("--spread") + 1] == "10"
    assert args[args.index("--timeout") + 1] == "1.5"
    assert args[args.index("--windows") + 1] == "3"
    assert args[args.index("--failure-rate") + 1] == "0.2"
    assert container["image"] == "x/y:2"


@pytest.mark.parametrize(
    ("probe", "windows"),
    [
        ({}, 3),  # the defaults: 3 x 30s + 2s + 20s within 2m
        ({"windows": 1}, 1),
        ({"spread": "45s", "deadline": "90s"}, 1),  # a check older than windows stays valid
        ({"spread": "45s", "deadline": "2m"}, 2),
        ({"spread": "10s", "windows": 10, "deadline": "1h"}, 10),
    ],
)
def test_a_run_measures_only_as_many_windows_as_fit_within_the_deadline(
    probe: dict[str, Any], windows: int
) -> None:
    (manifest,) = _plan([pod("a")], probe={"interval": "5m", **probe})
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--windows") + 1] == str(windows)
    spread = float(args[args.index("--spread") + 1])
    timeout = float(args[args.index("--timeout") + 1])
    deadline = manifest["spec"]["activeDeadlineSeconds"]
    assert windows * spread + timeout + 20 <= deadline or windows == 1


def test_names_fit_kubernetes_limits_whatever_the_check_and_node_are_called() -> None:
    name = jobs.job_name(
        owner=jobs.Owner(name="x" * 253, namespace="a", uid="u"), run=RUN, node="n" * 253, part=0
    )
    assert len(name) <= 52
    assert len(jobs.node_label("n" * 253)) <= 63


@pytest.mark.parametrize("annotation", [None, "not json", '[{"container": "probe-0"}]'])
def test_a_job_without_a_readable_pod_list_is_refused_by_name(annotation: str | None) -> None:
    meta = {"annotations": {jobs.ANNOTATION_PODS: annotation}} if annotation else {}
    with pytest.raises(ValueError, match=jobs.ANNOTATION_PODS):
        jobs.measured_pods({"metadata": meta})


def test_pods_of_other_namespaces_get_their_own_job_there_tied_by_labels_not_owner() -> None:
    manifests = _plan(
        [pod("a"), pod("b", namespace="shop"), pod("c", namespace="shop"), pod("d", namespace="x")]
    )
    by_namespace = {m["metadata"]["namespace"]: m for m in manifests}
    assert sorted(by_namespace) == ["apps", "shop", "x"]  # one Job per node and namespace
    shop = by_namespace["shop"]
    measured = jobs.measured_pods(shop)
    assert [(m.namespace, m.name) for m in measured] == [("shop", "b"), ("shop", "c")]
    # An owner reference cannot cross namespaces: only the check's own namespace has one.
    assert "ownerReferences" not in shop["metadata"]
    assert "ownerReferences" in by_namespace["apps"]["metadata"]
    assert shop["metadata"]["labels"][jobs.LABEL_CHECK_UID] == OWNER.uid
    assert shop["metadata"]["labels"][jobs.LABEL_CHECK_NAMESPACE] == OWNER.namespace
    names = [m["metadata"]["name"] for m in manifests]
    assert len(set(names)) == len(names)


def test_a_job_never_mixes_namespaces() -> None:
    chosen = selection.select(pods=[pod("a"), pod("b", namespace="shop")], nodes=[node("node-a")])
    with pytest.raises(ValueError, match="one namespace"):
        jobs.manifest(
            owner=OWNER,
            spec=check().spec,
            node="node-a",
            hostname="node-a",
            pods=chosen.pods,
            run=RUN,
            part=0,
            image="example/nethealth:1",
        )


def test_the_names_of_spec_dns_are_resolved_by_the_probe_unless_disabled() -> None:
    names = {"names": ["kubernetes.default.svc", "example.org."]}
    (manifest,) = _plan([pod("a")], dns=names)
    args = manifest["spec"]["template"]["spec"]["containers"][0]["args"]
    found = [args[i + 1] for i, a in enumerate(args) if a == "--dns-name"]
    assert found == ["kubernetes.default.svc", "example.org."]
    (manifest,) = _plan([pod("a")], dns={**names, "enabled": False})
    assert "--dns-name" not in manifest["spec"]["template"]["spec"]["containers"][0]["args"]
