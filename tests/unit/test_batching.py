"""Shared probe Jobs: the pods of the checks due in one tick that share a namespace and a
node are measured by one Job there, each with its own check's targets and settings, and
each check reads back its own containers only."""

from __future__ import annotations

import datetime
from typing import Any

from operator_builders import check, node, pod, probe_document

from nethealth.detection import batching, jobs, results, selection
from nethealth.probe import report, types

RUN = jobs.run_id(datetime.datetime(2026, 1, 1, 12, 0, 5, tzinfo=datetime.UTC))
IMAGE = "example/nethealth:1"
NODES = [node("node-a"), node("node-b")]


def _request(name: str, pods: list[dict[str, Any]], **spec: Any) -> batching.Request:
    parsed = check(**spec)
    return batching.Request(
        owner=jobs.Owner(name=name, namespace="apps", uid=f"uid-{name}"),
        spec=parsed.spec,
        selected=selection.select(pods=pods, nodes=NODES),
        image=IMAGE,
    )


def _containers(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job["spec"]["template"]["spec"]["containers"]
    return found


def _targets(container: dict[str, Any]) -> list[str]:
    args = container["args"]
    return [args[i + 1] for i, a in enumerate(args) if a == "--target"]


WEB = _request("web", [pod("w1"), pod("w2"), pod("w3", node="node-b")])
SHOP = _request(
    "shop",
    [pod("s1", labels={"app": "shop"}), pod("s2", namespace="other", labels={"app": "shop"})],
    targets=[{"name": "db", "host": "198.51.100.7", "port": 5432}],
    probe={"attempts": 40},
)


def test_checks_due_together_share_one_job_per_namespace_and_node() -> None:
    manifests = batching.plan([WEB, SHOP], tick="t1", run=RUN)
    where = [
        (m["metadata"]["namespace"], m["metadata"]["annotations"][jobs.ANNOTATION_NODE])
        for m in manifests
    ]
    assert where == [("apps", "node-a"), ("apps", "node-b"), ("other", "node-a")]
    shared = manifests[0]
    assert [m.name for m in jobs.measured_pods(shared)] == ["s1", "w1", "w2"]
    # each pod measured with its own check's targets and settings
    by_pod = {
        m.name: c for m, c in zip(jobs.measured_pods(shared), _containers(shared), strict=True)
    }
    assert _targets(by_pod["s1"]) == ["db=198.51.100.7:5432"]
    assert _targets(by_pod["w1"]) == ["api=203.0.113.1:443"]
    assert by_pod["s1"]["args"][by_pod["s1"]["args"].index("--attempts") + 1] == "40"
    assert batching.checks_of(shared) == {"uid-web", "uid-shop"}


def test_a_shared_job_has_the_per_check_jobs_pod_spec_but_for_its_containers_args() -> None:
    (alone,) = jobs.plan(
        owner=WEB.owner,
        spec=WEB.spec,
        selected=selection.select(pods=[pod("w1")], nodes=NODES),
        run=RUN,
        image=IMAGE,
    )
    (shared,) = batching.plan([_request("web", [pod("w1")])], tick="t1", run=RUN)
    strip = lambda job: {  # noqa: E731 - a view of the template without what may differ
        k: v for k, v in job["spec"]["template"]["spec"].items() if k != "containers"
    }
    assert strip(shared) == strip(alone)
    assert _containers(shared) == _containers(alone)  # one check alone: the very same
    assert {k: v for k, v in shared["spec"].items() if k != "template"} == {
        k: v for k, v in alone["spec"].items() if k != "template"
    }
    labels = shared["metadata"]["labels"]
    assert jobs.LABEL_CHECK_UID not in labels  # per-check pruning and adoption never take it
    assert labels[batching.LABEL_BATCH] == "t1"
    assert labels[selection.PROBE_LABEL] == "true"


def test_the_checks_of_the_jobs_namespace_own_it_and_its_deadline_is_the_longest() -> None:
    slow = _request("slow", [pod("x1", labels={"app": "x"})], probe={"deadline": "3m"})
    (shared,) = batching.plan([WEB, slow], tick="t1", run=RUN)[:1]
    owners = shared["metadata"]["ownerReferences"]
    assert sorted(o["name"] for o in owners) == ["slow", "web"]
    assert not any(o["controller"] for o in owners)  # the GC deletes it with its last check
    assert shared["spec"]["activeDeadlineSeconds"] == 180
    other = batching.plan([SHOP], tick="t1", run=RUN)[-1]
    assert other["metadata"]["namespace"] == "other"
    assert "ownerReferences" not in other["metadata"]  # none crosses namespaces


def test_more_pods_than_a_job_holds_are_split_into_bounded_jobs() -> None:
    many = _request("many", [pod(f"p{i:02d}") for i in range(jobs.MAX_CONTAINERS + 4)])
    manifests = batching.plan([many], tick="t1", run=RUN)
    assert [len(_containers(m)) for m in manifests] == [jobs.MAX_CONTAINERS, 4]
    assert len({m["metadata"]["name"] for m in manifests}) == 2


def _finished(job: dict[str, Any], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Job's pod as the kubelet leaves it: container probe-i ends with its document."""
    statuses = []
    for measured in jobs.measured_pods(job):
        document = documents[measured.container]
        statuses.append(
            {
                "name": measured.container,
                "state": {"terminated": {"exitCode": 0, "message": report.compact(document)}},
            }
        )
    return {
        "metadata": {"name": "x", "namespace": "apps", "creationTimestamp": "2026-01-01T12:00:06Z"},
        "status": {"phase": "Succeeded", "containerStatuses": statuses},
    }


def test_each_check_reads_its_own_containers_only_even_for_a_pod_both_select() -> None:
    both = _request(
        "both", [pod("w1")], targets=[{"name": "db", "host": "198.51.100.7", "port": 5432}]
    )
    (shared,) = batching.plan([_request("web", [pod("w1")]), both], tick="t1", run=RUN)
    healthy = probe_document("." * 60, klass=types.ProbeClass.HEALTHY)
    failing = probe_document("xxxxxx....." * 6, klass=types.ProbeClass.POD_NAMESPACE)
    # probe-0 measures w1 for "both" (sorted by check uid), probe-1 for "web"
    probe_pod = _finished(shared, {"probe-0": failing, "probe-1": healthy})
    web = results.collect(job=batching.for_check(shared, "uid-web"), pods=[probe_pod])
    theirs = results.collect(job=batching.for_check(shared, "uid-both"), pods=[probe_pod])
    assert web["apps/w1"].run.klass is types.ProbeClass.HEALTHY
    assert theirs["apps/w1"].run.klass is types.ProbeClass.POD_NAMESPACE
    assert results.collect(job=batching.for_check(shared, "uid-none"), pods=[probe_pod]) == {}
