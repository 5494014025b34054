"""An in-memory cluster behind ``kube.Api``, and a fake clock: the loop shells' test seam.

Just enough of the API server and its controllers for the operator's loop to run a check's
life in milliseconds: label selectors, JSON merge patches of a check's status, finalizers
with resource versions, Events, server-side apply of the remediation's two fields with
``managedFields`` (so another manager's revert is visible), a Deployment controller that
rolls new pods out when the template changes, and a kubelet that finishes probe Jobs with
the probe documents a test chooses per pod (``network``).

This is a fake at the project's own seam, for sequencing only: what the real API server,
controllers and kubelet do is proven by the e2e tier.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import itertools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from nethealth import kube, model
from nethealth.detection import jobs, results
from nethealth.kube import view
from nethealth.model import raw
from nethealth.probe import report
from nethealth.remediation import curejob, hostnetwork

Network = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
NODE = "node-a"


class FakeClock:
    """Time that moves only when the code under test sleeps (or a test advances it)."""

    def __init__(self, start: datetime.datetime = START) -> None:
        self.moment = start

    def now(self) -> datetime.datetime:
        return self.moment

    async def sleep(self, seconds: float) -> None:
        self.moment += datetime.timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def advance(self, **delta: float) -> None:
        self.moment += datetime.timedelta(**delta)


class FakeCluster:
    """A ``kube.Api`` over dicts. ``network(pod)`` is the probe document a probe container
    measuring ``pod`` ends with (None: it never finishes); ``job_seconds`` how long a probe
    Job runs before the kubelet reports it."""

    def __init__(self, clock: FakeClock, *, network: Network | None = None) -> None:
        self.clock = clock
        self.network = network or (lambda _pod: None)
        self.job_seconds = 0.0
        self.pods: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.namespaces: dict[str, dict[str, str]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.probe_pods: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, dict[str, Any]] = {}
        self.replicasets: dict[str, dict[str, Any]] = {}
        self.workloads: dict[hostnetwork.WorkloadKey, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.leases: dict[str, dict[str, Any]] = {}
        self.created_jobs: list[str] = []
        self.deleted_pods: list[str] = []
        self.budgets: set[str] = set()  # pods a PodDisruptionBudget protects now
        # namespace -> the Pod Security level it enforces where the probe pod is refused
        self.pod_security: dict[str, str] = {}
        self.routes: set[str] = set()  # uids of pods whose namespace has the cure's route
        self.cure_jobs: list[dict[str, Any]] = []  # every cure Job created, as created
        self.failing: dict[str, kube.KubeError] = {}  # method name -> error it raises
        self.calls: collections.Counter[str] = collections.Counter()  # list calls made
        self.store = view.Store()  # what a watch of pods and nodes would hold (``publish``)
        self._serial = itertools.count(1)
        self._job_serial = itertools.count(1)

    # --- building the world ---------------------------------------------------------------

    def add_node(self, name: str = NODE) -> None:
        self.nodes[name] = {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        self.publish()

    def shared_view(self) -> view.Watched:
        """The view a watch of this cluster keeps (as in time as a watch can be: the store
        follows every change the fake's controllers make; a test changing ``pods`` by
        hand calls ``publish``)."""
        return view.Watched(store=self.store, fallback=view.Listing(self))

    def publish(self) -> None:
        self.store.replace_pods([_public(p) for p in self.pods.values()], namespace=None)
        self.store.replace_nodes(copy.deepcopy(list(self.nodes.values())))
        self.store.pods_synced.set()
        self.store.nodes_synced.set()

    def add_deployment(
        self, name: str, *, namespace: str = "apps", replicas: int = 1, labels: Mapping[str, str]
    ) -> hostnetwork.WorkloadKey:
        """A Deployment and its pods; with several replicas, one per node (required
        anti-affinity on the hostname), as a workload fit for hostNetwork has."""
        key = hostnetwork.WorkloadKey(
            kind=hostnetwork.Kind.DEPLOYMENT, namespace=namespace, name=name
        )
        self.namespaces.setdefault(namespace, {})
        self.workloads[key] = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": f"uid-{name}",
                "generation": 1,
                "annotations": {},
                # As the API server records a create: the creator owns what it sent and
                # every field defaulting added (dnsPolicy among them).
                "managedFields": [
                    {
                        "manager": "kubectl-create",
                        "operation": "Update",
                        "fieldsV1": {
                            "f:spec": {
                                "f:template": {"f:spec": {"f:containers": {}, "f:dnsPolicy": {}}}
                            }
                        },
                    }
                ],
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(labels)},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "containers": [{"name": "app", "image": "app"}],
                        "dnsPolicy": "ClusterFirst",  # defaulted by the API server
                        **({"affinity": _one_per_node(labels)} if replicas > 1 else {}),
                    },
                },
            },
        }
        self.replicasets[f"{namespace}/{name}-rs"] = {
            "metadata": {
                "name": f"{name}-rs",
                "namespace": namespace,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": name,
                        "controller": True,
                    }
                ],
            }
        }
        self._roll_out(key)
        return key

    def add_check(self, name: str, *, namespace: str = "apps", **spec: Any) -> str:
        body_spec = {
            "selector": {"matchLabels": {"app": "web"}},
            "targets": [{"name": "api", "host": "203.0.113.1", "port": 443}],
            **spec,
        }
        self.checks[f"{namespace}/{name}"] = {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": f"uid-check-{name}",
                "generation": 1,
                "resourceVersion": "1",
            },
            "spec": body_spec,
        }
        return f"{namespace}/{name}"

    def body(self, key: str) -> Callable[[], raw.Check]:
        """The check's latest body, as kopf's watch would hand it to the supervisor."""
        return lambda: self.checks[key]  # type: ignore[return-value]

    def pods_of(self, key: hostnetwork.WorkloadKey) -> list[dict[str, Any]]:
        return [p for k, p in sorted(self.pods.items()) if p["metadata"].get("owner") == key]

    def template(self, key: hostnetwork.WorkloadKey) -> dict[str, Any]:
        spec: dict[str, Any] = self.workloads[key]["spec"]["template"]["spec"]
        return spec

    def apply_as(
        self, manager: str, key: hostnetwork.WorkloadKey, operation: str = "Apply", **fields: Any
    ) -> None:
        """Another manager (Argo CD's self-heal, a person) sets pod-template fields, by a
        server-side apply (``Apply``) or an update (``Update``)."""
        workload = self.workloads[key]
        self.template(key).update(fields)
        owned = {f"f:{name}": {} for name in fields}
        for entry in workload["metadata"]["managedFields"]:  # the fields are theirs now
            template = entry["fieldsV1"].get("f:spec", {}).get("f:template", {})
            for name in owned:
                template.get("f:spec", {}).pop(name, None)
        workload["metadata"]["managedFields"].append(
            {
                "manager": manager,
                "operation": operation,
                "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "fieldsV1": {"f:spec": {"f:template": {"f:spec": owned}}},
            }
        )
        self._changed(key)

    def events_with(self, reason: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["reason"] == reason]

    # --- controllers ---------------------------------------------------------------------

    def _changed(self, key: hostnetwork.WorkloadKey) -> None:
        self.workloads[key]["metadata"]["generation"] += 1
        self._roll_out(key)

    def _roll_out(self, key: hostnetwork.WorkloadKey) -> None:
        """The Deployment controller: the pods are replaced by pods of the new template."""
        for pod_key in [k for k, p in self.pods.items() if p["metadata"].get("owner") == key]:
            del self.pods[pod_key]
        for i in range(self.workloads[key]["spec"]["replicas"]):
            self._new_pod(key, ip=f"198.51.100.{10 + i}")
        self.publish()

    def _new_pod(self, key: hostnetwork.WorkloadKey, *, ip: str) -> None:
        template = self.workloads[key]["spec"]["template"]
        name = f"{key.name}-{next(self._serial)}"
        spec = copy.deepcopy(template["spec"])
        spec["nodeName"] = NODE
        self.pods[f"{key.namespace}/{name}"] = {
            "metadata": {
                "name": name,
                "namespace": key.namespace,
                "uid": f"uid-{name}",
                "labels": dict(template["metadata"].get("labels") or {}),
                "annotations": dict(template["metadata"].get("annotations") or {}),
                "ownerReferences": [
                    {"kind": "ReplicaSet", "name": f"{key.name}-rs", "controller": True}
                ],
                "owner": key,  # the fake's own bookkeeping
            },
            "spec": spec,
            "status": {"phase": "Running", "podIP": ip},
        }

    def _kubelet(self) -> None:
        """Probe Jobs that ran ``job_seconds`` finish with the network's documents; cure
        Jobs (``nethealth cure``) change ``routes`` and finish at once."""
        for key, job in self.jobs.items():
            if curejob.LABEL_CURE in raw.labels(job):
                if key not in self.probe_pods:
                    self._cure(key, job)
                continue
            if key in self.probe_pods or self.clock.now() < job["started"] + datetime.timedelta(
                seconds=self.job_seconds
            ):
                continue
            namespace, name = key.split("/", 1)
            if namespace in self.pod_security:
                self._refuse(job, level=self.pod_security[namespace])
                continue
            statuses = []
            for measured in jobs.measured_pods(job):
                pod = self.pods.get(f"{measured.namespace}/{measured.name}")
                document = self.network(pod) if pod is not None else None
                if document is None:
                    statuses.append({"name": measured.container, "state": {"running": {}}})
                    continue
                healthy = document.get("class") == "Healthy"
                terminated = {"exitCode": 0 if healthy else 1, "message": report.compact(document)}
                statuses.append({"name": measured.container, "state": {"terminated": terminated}})
            done = all("terminated" in s["state"] for s in statuses)
            namespace, name = key.split("/", 1)
            self.probe_pods[key] = {
                "metadata": {
                    "name": f"{name}-x",
                    "namespace": namespace,
                    "labels": {**raw.labels(job), results.JOB_NAME_LABEL: name},
                    "creationTimestamp": job["started"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                    # What the Job controller sets: the operator believes only its own pods.
                    "ownerReferences": [
                        {"kind": "Job", "name": name, "uid": raw.uid(job), "controller": True}
                    ],
                },
                "spec": copy.deepcopy(job["spec"]["template"]["spec"]),
                "status": {
                    "phase": "Succeeded" if done else "Running",
                    "containerStatuses": statuses,
                },
            }
            if done:
                job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}

    def _refuse(self, job: dict[str, Any], *, level: str) -> None:
        """The Job controller's pod create refused by Pod Security: an Event, no pod, and
        the Job failed (as at its deadline)."""
        if job.get("status"):
            return
        name = raw.name(job)
        self.events.append(
            {
                "involvedObject": {"kind": "Job", "name": name},
                "type": "Warning",
                "reason": "FailedCreate",
                "message": f'Error creating: pods "{name}-x" is forbidden: violates PodSecurity'
                f' "{level}:latest": host namespaces (hostPID=true)',
                "lastTimestamp": self.clock.now().isoformat(),
            }
        )
        job["status"] = {
            "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
        }

    def _cure(self, key: str, job: Mapping[str, Any]) -> None:
        """What `nethealth cure` does on the node: the route added to (removed from) the
        pod's namespace, idempotent; a pod not on the node is an error (exit 1)."""
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        uid, action = args[args.index("--pod-uid") + 1], args[args.index("--action") + 1]
        if not any(raw.uid(p) == uid for p in self.pods.values()):
            document, code = {"action": action, "error": f"no process of pod {uid}"}, 1
        elif action == curejob.ADD:
            result = "present" if uid in self.routes else "added"
            self.routes.add(uid)
            document, code = {"action": action, "result": result}, 0
        else:
            result = "removed" if uid in self.routes else "absent"
            self.routes.discard(uid)
            document, code = {"action": action, "result": result}, 0
        namespace, name = key.split("/", 1)
        terminated = {"exitCode": code, "message": json.dumps(document)}
        self.probe_pods[key] = {
            "metadata": {
                "name": f"{name}-x",
                "namespace": namespace,
                "labels": raw.labels(job),
                "ownerReferences": [
                    {"kind": "Job", "name": name, "uid": raw.uid(job), "controller": True}
                ],
            },
            "spec": copy.deepcopy(job["spec"]["template"]["spec"]),
            "status": {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [{"name": "cure", "state": {"terminated": terminated}}],
            },
        }

    def _fail(self, method: str) -> None:
        if method in self.failing:
            raise self.failing[method]

    # --- kube.Api ------------------------------------------------------------------------

    async def list_pods(self, *, namespace: str, label_selector: str) -> list[raw.Pod]:
        self._fail("list_pods")
        self.calls[f"list_pods {label_selector}"] += 1
        self._kubelet()
        pods = [*self.pods.values(), *self.probe_pods.values()]
        return [
            _public(p)
            for p in pods
            if raw.namespace(p) == namespace and _matches(label_selector, raw.labels(p))
        ]

    async def list_pods_on_node(self, node: str) -> list[raw.Pod]:
        return [_public(p) for p in self.pods.values() if p["spec"].get("nodeName") == node]

    async def list_nodes(self) -> list[raw.Node]:
        self.calls["list_nodes"] += 1
        return [copy.deepcopy(n) for n in self.nodes.values()]  # type: ignore[misc]

    async def list_namespaces(self, *, label_selector: str) -> list[str]:
        return sorted(
            n for n, labels in self.namespaces.items() if _matches(label_selector, labels)
        )

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        return dict(self.namespaces.get(namespace, {}))

    async def list_jobs_everywhere(self, *, label_selector: str) -> list[raw.Job]:
        self._fail("list_jobs_everywhere")
        self._kubelet()
        return [
            copy.deepcopy({k: v for k, v in j.items() if k != "started"})  # type: ignore[misc]
            for j in self.jobs.values()
            if _matches(label_selector, raw.labels(j))
        ]

    async def create_job(self, manifest: Mapping[str, Any]) -> bool:
        self._fail("create_job")
        key = raw.key(manifest)
        if key in self.jobs:
            return False
        self.jobs[key] = {**copy.deepcopy(dict(manifest)), "started": self.clock.now()}
        self.jobs[key]["metadata"]["uid"] = f"uid-job-{next(self._job_serial)}"
        if curejob.LABEL_CURE in raw.labels(manifest):
            self.cure_jobs.append(copy.deepcopy(dict(manifest)))
        self.created_jobs.append(key)
        return True

    async def delete_job(self, *, namespace: str, name: str) -> None:
        self.jobs.pop(f"{namespace}/{name}", None)
        self.probe_pods.pop(f"{namespace}/{name}", None)

    async def evict_pod(self, *, namespace: str, name: str, uid: str) -> None:
        """The pod goes; its controller makes a new one from the same template. A pod
        named in ``budgets`` is protected by a PodDisruptionBudget: 429."""
        self._fail("evict_pod")
        if f"{namespace}/{name}" in self.budgets:
            raise kube.KubeError(
                f"evict pod {namespace}/{name}: 429 Too Many Requests: Cannot evict pod as it"
                " would violate the pod's disruption budget.",
                status=429,
            )
        pod = self.pods.get(f"{namespace}/{name}")
        if pod is None or raw.uid(pod) != uid:
            return
        self.deleted_pods.append(f"{namespace}/{name}")
        del self.pods[f"{namespace}/{name}"]
        self._new_pod(pod["metadata"]["owner"], ip=pod["status"]["podIP"])
        self.publish()

    async def latest_event_message(
        self, *, namespace: str, kind: str, name: str, reason: str
    ) -> str | None:
        return raw.newest_event_message(
            e for e in self.events if e["involvedObject"]["name"] == name and e["reason"] == reason
        )

    async def post_event(
        self, *, involved: Mapping[str, str], type: str, reason: str, message: str
    ) -> None:
        self._fail("post_event")
        self.events.append(
            {
                "involvedObject": dict(involved),
                "type": type,
                "reason": reason,
                "message": message,
                "lastTimestamp": self.clock.now().isoformat(),
            }
        )

    async def list_check_uids(self) -> set[str]:
        return {raw.uid(c) for c in self.checks.values()}

    async def read_check(self, *, namespace: str, name: str) -> raw.Check | None:
        found = self.checks.get(f"{namespace}/{name}")
        return None if found is None else copy.deepcopy(found)  # type: ignore[return-value]

    async def set_check_finalizers(
        self, *, namespace: str, name: str, finalizers: list[str], resource_version: str
    ) -> None:
        check = self.checks.get(f"{namespace}/{name}")
        if check is None:
            raise kube.KubeError("not found", status=404)
        if check["metadata"]["resourceVersion"] != resource_version:
            raise kube.KubeError("conflict", status=409)
        check["metadata"]["finalizers"] = list(finalizers)
        self._bump(check)
        if check["metadata"].get("deletionTimestamp") and not finalizers:
            del self.checks[f"{namespace}/{name}"]

    async def patch_check_status(
        self, *, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> None:
        self._fail("patch_check_status")
        check = self.checks[f"{namespace}/{name}"]
        check["status"] = _merge(check.get("status") or {}, json.loads(json.dumps(patch)))
        self._bump(check)

    async def read_replicaset(self, *, namespace: str, name: str) -> raw.Object | None:
        return copy.deepcopy(self.replicasets.get(f"{namespace}/{name}"))  # type: ignore[return-value]

    async def read_workload(self, key: hostnetwork.WorkloadKey) -> raw.Workload | None:
        return copy.deepcopy(self.workloads.get(key))  # type: ignore[return-value]

    async def list_workloads(self, *, label_selector: str) -> list[raw.Workload]:
        return [
            copy.deepcopy(w)  # type: ignore[misc]
            for w in self.workloads.values()
            if _matches(label_selector, w["metadata"].get("labels") or {})
        ]

    async def apply_workload(self, body: Mapping[str, Any], *, force: bool) -> raw.Workload:
        """Server-side apply as ``nethealth-operator``: a field another manager owns with
        another value is a conflict unless ``force``; the fields, labels and annotations it
        applied before and not now are removed (a field only when no one else owns it), and
        it owns what it set."""
        self._fail("apply_workload")
        meta = body["metadata"]
        key = hostnetwork.WorkloadKey(
            kind=hostnetwork.Kind(body["kind"]), namespace=meta["namespace"], name=meta["name"]
        )
        workload = self.workloads.get(key)
        if workload is None:
            raise kube.KubeError(f"apply to {key}: it does not exist", status=404)
        template = (body.get("spec") or {}).get("template") or {}
        pod_spec = template.get("spec") or {}
        spec = self.template(key)
        others = [
            e
            for e in workload["metadata"]["managedFields"]
            if e["manager"] != hostnetwork.FIELD_MANAGER
        ]
        owned = {name: e["manager"] for e in others for name in _pod_fields(e)}
        conflicts = [n for n, v in pod_spec.items() if n in owned and spec.get(n) != v]
        if conflicts and not force:
            who = ", ".join(sorted({owned[n] for n in conflicts}))
            raise kube.KubeError(
                f"apply to {key}: 409 Conflict: Apply failed with {len(conflicts)} conflict:"
                f" conflict with {who!r}: .spec.template.spec.{conflicts[0]}",
                status=409,
            )
        before = json.dumps(workload["spec"], sort_keys=True)
        mine = [
            e
            for e in workload["metadata"]["managedFields"]
            if e["manager"] == hostnetwork.FIELD_MANAGER
        ]
        previous = mine[0]["applied"] if mine else {}
        for field in previous.get("spec", ()):
            if field not in pod_spec and field not in owned:
                spec.pop(field, None)
                if field == "dnsPolicy":
                    spec["dnsPolicy"] = "ClusterFirst"  # the API server's default
        spec.update(pod_spec)
        _apply_map(
            workload["metadata"].setdefault("labels", {}),
            previous.get("labels", ()),
            meta.get("labels") or {},
        )
        _apply_map(
            workload["metadata"]["annotations"],
            previous.get("annotations", ()),
            meta.get("annotations") or {},
        )
        _apply_map(
            workload["spec"]["template"]["metadata"].setdefault("annotations", {}),
            previous.get("pod_annotations", ()),
            (template.get("metadata") or {}).get("annotations") or {},
        )
        for entry in others:  # force: the fields we set are ours now
            fields = entry["fieldsV1"].get("f:spec", {}).get("f:template", {}).get("f:spec", {})
            for name in pod_spec:
                fields.pop(f"f:{name}", None)
        workload["metadata"]["managedFields"] = [
            *others,
            {
                "manager": hostnetwork.FIELD_MANAGER,
                "operation": "Apply",
                "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "fieldsV1": {
                    "f:spec": {"f:template": {"f:spec": {f"f:{n}": {} for n in pod_spec}}}
                },
                "applied": {
                    "spec": list(pod_spec),
                    "labels": list(meta.get("labels") or {}),
                    "annotations": list(meta.get("annotations") or {}),
                    "pod_annotations": list(
                        (template.get("metadata") or {}).get("annotations") or {}
                    ),
                },
            },
        ]
        if json.dumps(workload["spec"], sort_keys=True) != before:
            self._changed(key)
        found: raw.Workload = copy.deepcopy(workload)  # type: ignore[assignment]
        return found

    async def read_lease(self, *, namespace: str, name: str) -> raw.Object | None:
        return copy.deepcopy(self.leases.get(f"{namespace}/{name}"))  # type: ignore[return-value]

    async def write_lease(
        self,
        *,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        resource_version: str | None,
    ) -> bool:
        current = self.leases.get(f"{namespace}/{name}")
        if (current is None) != (resource_version is None):
            return False
        if current is not None and current["metadata"]["resourceVersion"] != resource_version:
            return False
        version = str(next(self._serial))
        self.leases[f"{namespace}/{name}"] = {
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": version},
            "spec": dict(spec),
        }
        return True

    def _bump(self, obj: dict[str, Any]) -> None:
        obj["metadata"]["resourceVersion"] = str(next(self._serial) + 1000)


def _pod_fields(entry: Mapping[str, Any]) -> set[str]:
    """The pod-template fields a ``managedFields`` entry owns."""
    fields = entry["fieldsV1"].get("f:spec", {}).get("f:template", {}).get("f:spec", {})
    return {name.removeprefix("f:") for name in fields}


def _apply_map(current: dict[str, str], before: Any, wanted: Mapping[str, str]) -> None:
    """Labels or annotations after an apply: ours not applied again go, the rest is set."""
    for name in before:
        if name not in wanted:
            current.pop(name, None)
    current.update(wanted)


def _one_per_node(labels: Mapping[str, str]) -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": dict(labels)}, "topologyKey": "kubernetes.io/hostname"}
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


def _public(pod: Mapping[str, Any]) -> raw.Pod:
    """A pod as the API returns it (without the fake's own bookkeeping)."""
    found = copy.deepcopy(dict(pod))
    found["metadata"].pop("owner", None)
    return found  # type: ignore[return-value]


_TERM = re.compile(
    r"^\s*(!?)([\w./-]+)\s*(?:(=|!=|==)\s*([\w./-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$"
)


def _matches(selector: str, labels: Mapping[str, str]) -> bool:
    """A label selector as the API server evaluates it (equality and set-based terms)."""
    for term in re.split(r",(?![^(]*\))", selector) if selector else []:
        found = _TERM.match(term)
        assert found is not None, f"cannot parse selector term {term!r}"
        negate, key, op, value, set_op, values = found.groups()
        if op in ("=", "=="):
            ok = labels.get(key) == value
        elif op == "!=":
            ok = labels.get(key) != value
        elif set_op:
            choices = {v.strip() for v in values.split(",")}
            ok = (labels.get(key) in choices) == (set_op == "in")
            if set_op == "notin":
                ok = key not in labels or labels[key] not in choices
        else:
            ok = key in labels
        if bool(negate) == ok:
            return False
    return True


def _merge(current: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386): null removes, objects merge, the rest replaces."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
