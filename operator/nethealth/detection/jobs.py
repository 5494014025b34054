"""Pure: the probe Job of one run on one node, as a manifest, and how to recognise it.

One Job per node and run measures every selected pod on that node, so the cost of a run
grows with nodes, not pods. Inside the Job's pod there is **one container per measured
pod**, each running ``nethealth probe --pod-uid UID`` unchanged. Chosen over a loop in
one container because:

- each container has its own termination message of 4096 bytes, so every pod's compact
  result keeps its full budget (a loop would split 4096 bytes among the pods);
- the containers run at the same time, over the same ``spread`` window, so a run takes one
  window however many pods share the node, and all pods see the same moments of a fault;
- a probe that crashes or hangs spoils only its own pod's result;
- the probe's CLI and its contract stay as they are.

All containers share the Job pod's own network namespace, which is what the probe uses as
its *control* (a fresh pod on the same node with the same CNI). More than
``MAX_CONTAINERS`` pods on one node are split over several Jobs.

The pod needs ``hostPID`` (to find the pods' processes and the node's namespace), uid 0,
and exactly ``CAP_SYS_ADMIN`` (setns) and ``CAP_SYS_PTRACE`` (open another user's
``/proc/PID/ns/net``), all others dropped; no service-account token: the probe never
talks to the API. ``backoffLimit: 0``: a failed probe is a result, not something to
retry. Tolerating every taint and selecting the node by hostname pins the Job where the
pods are, whatever the node's taints.

A Job runs in the namespace of the pods it measures (the probe's pod must be admitted
where they are). For a check with a ``namespaceSelector`` those are other namespaces than
the check's, where an owner reference cannot point (owner references never cross
namespaces): such Jobs are tied to the check only by the labels ``nethealth.io/check-uid``
and ``nethealth.io/check-namespace``, and the operator deletes them when the check goes and
garbage-collects Jobs whose check no longer exists (``scheduling.orphans``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth import model
from nethealth.detection import selection
from nethealth.model import raw

MAX_CONTAINERS: Final = 16  # per Job; more pods on a node are split over more Jobs
TTL_SECONDS: Final = 600  # finished Jobs outlive the history pruning only if we are down

LABEL_CHECK: Final = "nethealth.io/check"
LABEL_CHECK_UID: Final = "nethealth.io/check-uid"
LABEL_CHECK_NAMESPACE: Final = "nethealth.io/check-namespace"
LABEL_RUN: Final = "nethealth.io/run"
LABEL_NODE: Final = "nethealth.io/node"  # a hash when the node name is no label value
ANNOTATION_PODS: Final = "nethealth.io/pods"  # container -> the pod it measures (JSON)
ANNOTATION_NODE: Final = "nethealth.io/node-name"
MANAGED_BY: Final = "nethealth-operator"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Owner:
    """The check a Job belongs to (owner reference and labels)."""

    name: str
    namespace: str
    uid: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measured:
    """One container of a probe Job: which pod it measures."""

    container: str
    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def run_id(moment: datetime.datetime) -> str:
    """A run's id: its start time, sortable and a valid label value (``20260101t120000``)."""
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dt%H%M%S")


def check_selector(owner: Owner) -> str:
    """The label selector of every Job of a check."""
    return f"{LABEL_CHECK_UID}={owner.uid}"


def node_label(node: str) -> str:
    if len(node) <= 63 and re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", node):
        return node
    return "h-" + hashlib.sha256(node.encode()).hexdigest()[:16]


def managed_selector() -> str:
    """The label selector of every probe Job of this operator, whatever its check."""
    return f"app.kubernetes.io/managed-by={MANAGED_BY},{LABEL_CHECK_UID}"


def job_name(*, owner: Owner, run: str, node: str, part: int, namespace: str = "") -> str:
    """``nhp-<check>-<hash>``: at most 52 characters, so that pod names still fit."""
    where = f"{namespace or owner.namespace}/{node}"
    digest = hashlib.sha256(f"{owner.uid}/{run}/{where}/{part}".encode()).hexdigest()[:10]
    stem = re.sub(r"[^a-z0-9-]", "-", owner.name.lower())[:36].strip("-")
    return f"nhp-{stem}-{digest}"


def plan(
    *,
    owner: Owner,
    spec: model.Spec,
    selected: selection.Selection,
    run: str,
    image: str,
) -> list[dict[str, Any]]:
    """The Jobs of one run: one per node and namespace of its pods (split at
    MAX_CONTAINERS pods), nodes and namespaces in order."""
    manifests = []
    for node, pods in selected.by_node.items():
        for namespace in sorted({p.namespace for p in pods}):
            local = [p for p in pods if p.namespace == namespace]
            for part, start in enumerate(range(0, len(local), MAX_CONTAINERS)):
                manifests.append(
                    manifest(
                        owner=owner,
                        spec=spec,
                        node=node,
                        hostname=selected.hostnames.get(node, node),
                        pods=local[start : start + MAX_CONTAINERS],
                        run=run,
                        part=part,
                        image=image,
                    )
                )
    return manifests


def manifest(
    *,
    owner: Owner,
    spec: model.Spec,
    node: str,
    hostname: str,
    pods: Sequence[selection.PodRef],
    run: str,
    part: int,
    image: str,
) -> dict[str, Any]:
    """The probe Job for ``pods`` (all on ``node`` and in one namespace, where it runs)."""
    if not pods:
        raise ValueError("a probe Job needs at least one pod")
    if len(pods) > MAX_CONTAINERS:
        raise ValueError(f"at most {MAX_CONTAINERS} pods per Job, got {len(pods)}")
    namespace = pods[0].namespace
    if any(p.namespace != namespace for p in pods):
        raise ValueError("a probe Job measures pods of one namespace only")
    measured = [
        Measured(container=f"probe-{i}", namespace=p.namespace, name=p.name, uid=p.uid)
        for i, p in enumerate(pods)
    ]
    labels = {
        "app.kubernetes.io/name": "nethealth-probe",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        selection.PROBE_LABEL: "true",
        LABEL_CHECK: owner.name[:63],
        LABEL_CHECK_UID: owner.uid,
        LABEL_CHECK_NAMESPACE: owner.namespace,
        LABEL_RUN: run,
        LABEL_NODE: node_label(node),
    }
    annotations = {
        ANNOTATION_PODS: json.dumps([dataclasses.asdict(m) for m in measured]),
        ANNOTATION_NODE: node,
    }
    probe = spec.probe
    metadata: dict[str, Any] = {
        "name": job_name(owner=owner, run=run, node=node, part=part, namespace=namespace),
        "namespace": namespace,
        "labels": labels,
        "annotations": annotations,
    }
    if namespace == owner.namespace:
        # Elsewhere the labels tie the Job to the check (owner references stay in a namespace).
        metadata["ownerReferences"] = [
            {
                "apiVersion": model.API_VERSION,
                "kind": model.KIND,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, int(probe.deadline.total_seconds())),
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {selection.HOSTNAME_LABEL: hostname},
                    "tolerations": [{"operator": "Exists"}],
                    "hostPID": True,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 2,
                    "containers": [_container(m, spec=spec, image=image) for m in measured],
                },
            },
        },
    }


def container(measured: Measured, *, spec: model.Spec, image: str) -> dict[str, Any]:
    """The probe container measuring one pod with ``spec``'s targets and settings (a
    shared Job, ``batching``, holds containers of several checks, each built here)."""
    return _container(measured, spec=spec, image=image)


def _container(measured: Measured, *, spec: model.Spec, image: str) -> dict[str, Any]:
    probe = spec.probe
    args = ["probe", "--pod-uid", measured.uid, "--output", "json"]
    for target in spec.targets:
        host = f"[{target.host}]" if ":" in target.host else target.host
        args += ["--target", f"{target.name}={host}:{target.port}"]
    args += [
        "--attempts",
        str(probe.attempts),
        "--spread",
        f"{probe.spread.total_seconds():g}",
        "--timeout",
        f"{probe.timeout.total_seconds():g}",
        # A window is judged by the check's own threshold; only as many as fit in time.
        "--windows",
        str(model.windows_within(probe)),
        "--failure-rate",
        f"{spec.threshold.failure_rate:g}",
    ]
    if spec.dns is not None and spec.dns.enabled:
        for name in spec.dns.names:
            args += ["--dns-name", name]
    container: dict[str, Any] = {
        "name": measured.container,
        "image": probe.image or image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "terminationMessagePolicy": "File",
        "securityContext": {
            "runAsUser": 0,
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "SYS_PTRACE"]},
        },
        "resources": _resources(probe.resources),
    }
    return container


def _resources(resources: model.Resources | None) -> dict[str, Any]:
    if resources is None:
        return {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}}
    out: dict[str, Any] = {}
    for part in ("requests", "limits"):
        quantities: model.Quantities | None = getattr(resources, part)
        if quantities is None:
            continue
        values = {
            "cpu": quantities.cpu,
            "memory": quantities.memory,
            "ephemeral-storage": quantities.ephemeral_storage,
        }
        out[part] = {k: v for k, v in values.items() if v is not None}
    return out


def measured_pods(pod_or_job: Mapping[str, Any]) -> list[Measured]:
    """Which pod each container measures, from a probe Job's (or its pod's) annotation.

    Raises ValueError when the annotation is missing or malformed.
    """
    text = raw.annotations(pod_or_job).get(ANNOTATION_PODS)
    if not text:
        raise ValueError(f"annotation {ANNOTATION_PODS} is missing")
    try:
        items = json.loads(text)
        return [
            Measured(
                container=str(i["container"]),
                namespace=str(i["namespace"]),
                name=str(i["name"]),
                uid=str(i["uid"]),
            )
            for i in items
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"annotation {ANNOTATION_PODS} is malformed: {exc}") from exc


# --- one-off Jobs (``kubectl nethealth diagnose``) ---------------------------------------

LABEL_DIAGNOSE: Final = "nethealth.io/diagnose"  # the diagnose session's id
DIAGNOSE_MANAGED_BY: Final = "kubectl-nethealth"
_CHECK_LABELS: Final = (LABEL_CHECK, LABEL_CHECK_UID, LABEL_CHECK_NAMESPACE, LABEL_RUN)


def one_off(
    *,
    pod: selection.PodRef,
    hostname: str,
    spec: model.Spec,
    image: str,
    session: str,
) -> dict[str, Any]:
    """A probe Job for one pod outside any check: `manifest` with the check's ties removed.

    The Job keeps every safety of a check's Job (pinned to the pod's node, ``backoffLimit``
    0, ``activeDeadlineSeconds`` = ``spec.probe.deadline``, ``ttlSecondsAfterFinished``, no
    service-account token, the probe's two capabilities). It has no owner reference and
    none of the check labels: the operator's sweep deletes Jobs labelled with a check uid
    whose check does not exist, which a one-off Job would be. ``session`` (a label value)
    names the Job and labels it and its pod, so the caller can find and delete both.
    """
    owner = Owner(name=pod.name, namespace="", uid=session)
    job = manifest(
        owner=owner,
        spec=spec,
        node=pod.node,
        hostname=hostname,
        pods=[pod],
        run=session,
        part=0,
        image=image,
    )
    labels = {k: v for k, v in job["metadata"]["labels"].items() if k not in _CHECK_LABELS}
    labels["app.kubernetes.io/managed-by"] = DIAGNOSE_MANAGED_BY
    labels[LABEL_DIAGNOSE] = session
    stem = re.sub(r"[^a-z0-9-]", "-", pod.name.lower())[:32].strip("-")
    job["metadata"]["name"] = f"nhd-{stem}-{session}"[:52].rstrip("-")
    job["metadata"]["labels"] = labels
    job["spec"]["template"]["metadata"]["labels"] = dict(labels)
    return job


def run_started(run: str) -> datetime.datetime:
    """When a run started, from its id (``run_id``'s inverse)."""
    return datetime.datetime.strptime(run, "%Y%m%dt%H%M%S").replace(tzinfo=datetime.UTC)
