"""Pure: probe Jobs shared by the checks due in the same tick, one per namespace and node.

Each check's run used to launch its own Jobs, one per node: a thousand checks meant a
thousand Jobs per interval and more, queued behind the operator's budget
(docs/performance.md). With batching on (``NETHEALTH_BATCH_PROBE_JOBS``) the checks of a
namespace share their rhythm (``scheduling.aligned_due``), and each tick the pods of every
due check that share a namespace and a node are measured by one Job in that namespace:
Jobs per interval fall from checks times nodes to namespaces times nodes.

The Job is the per-check Job (``jobs.manifest``) in every part that admission and review
look at: the same pod spec, the same containers, one per measured pod, each built by
``jobs.container`` from *its own check's* targets and settings, the same
``securityContext``, image and arguments. What differs: the containers come from several
checks (at most ``jobs.MAX_CONTAINERS``; more are split over more Jobs), the annotation
``nethealth.io/pods`` names each container's check (``check``), the check labels give way
to ``nethealth.io/batch`` (a label holds one check; the annotation holds them all), every
check of the Job's namespace is an owner (none the controller: the garbage collector
deletes the Job when the last of them goes) and ``activeDeadlineSeconds`` is the longest
deadline of its checks.

Results go back per check (``for_check``): a check reads only its own containers, so it
gets its own pods' results and no other check's, even for a pod two checks select.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth import model
from nethealth.detection import jobs, selection
from nethealth.model import raw

LABEL_BATCH: Final = "nethealth.io/batch"  # the tick's id: every Job launched in it
_CHECK_LABELS: Final = (jobs.LABEL_CHECK, jobs.LABEL_CHECK_UID, jobs.LABEL_CHECK_NAMESPACE)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    """A due check's run: its pods to measure and how."""

    owner: jobs.Owner
    spec: model.Spec
    selected: selection.Selection
    image: str  # the operator's probe image (a check's spec.probe.image overrides it)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Member:
    """One container of a shared Job: the check it measures for, and the pod."""

    check_uid: str
    request: Request
    pod: selection.PodRef


def plan(
    requests: Sequence[Request], *, tick: str, run: str, limit: int = jobs.MAX_CONTAINERS
) -> list[dict[str, Any]]:
    """The tick's Jobs: one per namespace and node of the requests' pods (split at
    ``limit`` containers), in order of namespace, node, check and pod."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    groups: dict[tuple[str, str], list[Member]] = {}
    for request in requests:
        for pod in request.selected.pods:
            member = Member(check_uid=request.owner.uid, request=request, pod=pod)
            groups.setdefault((pod.namespace, pod.node), []).append(member)
    manifests = []
    for (namespace, node), members in sorted(groups.items()):
        members.sort(key=lambda m: (m.check_uid, m.pod.name))
        for part, start in enumerate(range(0, len(members), limit)):
            chunk = members[start : start + limit]
            manifests.append(
                _shared(chunk, tick=tick, run=run, namespace=namespace, node=node, part=part)
            )
    return manifests


def _shared(
    members: Sequence[Member], *, tick: str, run: str, namespace: str, node: str, part: int
) -> dict[str, Any]:
    first = members[0].request
    job = jobs.manifest(
        owner=first.owner,
        spec=first.spec,
        node=node,
        hostname=first.selected.hostnames.get(node, node),
        pods=[members[0].pod],
        run=run,
        part=part,
        image=first.image,
    )
    measured = [
        jobs.Measured(
            container=f"probe-{i}", namespace=m.pod.namespace, name=m.pod.name, uid=m.pod.uid
        )
        for i, m in enumerate(members)
    ]
    labels = {k: v for k, v in job["metadata"]["labels"].items() if k not in _CHECK_LABELS}
    labels[LABEL_BATCH] = tick
    pods = [
        {**dataclasses.asdict(one), "check": m.check_uid}
        for one, m in zip(measured, members, strict=True)
    ]
    annotations = {**job["metadata"]["annotations"], jobs.ANNOTATION_PODS: json.dumps(pods)}
    digest = hashlib.sha256(f"{tick}/{namespace}/{node}/{part}".encode()).hexdigest()[:12]
    job["metadata"].update(name=f"nhb-{digest}", labels=labels, annotations=annotations)
    owners = _owners(members, namespace=namespace)
    if owners:
        job["metadata"]["ownerReferences"] = owners
    else:
        job["metadata"].pop("ownerReferences", None)
    spec = job["spec"]
    spec["activeDeadlineSeconds"] = max(
        max(1, int(m.request.spec.probe.deadline.total_seconds())) for m in members
    )
    template = spec["template"]
    template["metadata"] = {"labels": dict(labels), "annotations": dict(annotations)}
    template["spec"]["containers"] = [
        jobs.container(one, spec=m.request.spec, image=m.request.image)
        for one, m in zip(measured, members, strict=True)
    ]
    return job


def _owners(members: Sequence[Member], *, namespace: str) -> list[dict[str, Any]]:
    """Every check of the Job's namespace (owner references never cross namespaces)."""
    seen: dict[str, jobs.Owner] = {}
    for member in members:
        owner = member.request.owner
        if owner.namespace == namespace:
            seen.setdefault(owner.uid, owner)
    return [
        {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "name": owner.name,
            "uid": owner.uid,
            "controller": False,
            "blockOwnerDeletion": True,
        }
        for owner in seen.values()
    ]


def checks_of(job: Mapping[str, Any]) -> set[str]:
    """The uids of the checks a shared Job measures for."""
    return {str(p.get("check", "")) for p in _pods(job)}


def for_check(job: Mapping[str, Any], check_uid: str) -> dict[str, Any]:
    """The Job as one check sees it: only its own containers in ``nethealth.io/pods``, so
    that ``results.collect`` reads those and no other check's."""
    mine = [p for p in _pods(job) if p.get("check") == check_uid]
    view = copy.deepcopy(dict(job))
    view.setdefault("metadata", {}).setdefault("annotations", {})[jobs.ANNOTATION_PODS] = (
        json.dumps(mine)
    )
    return view


def _pods(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    text = raw.annotations(job).get(jobs.ANNOTATION_PODS) or "[]"
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []
