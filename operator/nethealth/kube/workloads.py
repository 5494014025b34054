"""The API side of remediation: find a pod's workload, apply the hostNetwork patch, revert.

The decisions are ``remediation.planning``'s (pure); this module only reads what it needs and
writes what it was given, with server-side apply under the field manager
``nethealth-operator`` and *only* the fields of ``planning.patch_body`` /
``revert_body``: the two pod-template fields and the annotations. Applying the same body
twice is a no-op on the server (no new ReplicaSet, no rollout), so a crash between the
write and anything after it converges on the next plan, which sees the patch in place.

``force`` takes the two fields over from whoever set them (a chart's explicit
``hostNetwork: false`` applied by Argo CD), which is what the user asked for when the
check's mode is Auto; whether the change then sticks is the GitOps tool's decision
(``planning.Outcome.REVERTED_BY_OTHER``, never fought).

Calls are synchronous, taking a ``kubernetes.client.ApiClient``; the operator runs them
with ``asyncio.to_thread`` as ``kube`` does. API errors become ``kube.KubeError``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from nethealth import kube
from nethealth.remediation import hostnetwork, planning

ApiClient = Any  # kubernetes.client.ApiClient: the client ships no type hints
RawObject = Mapping[str, Any]
Kind = hostnetwork.Kind

APPLY_CONTENT_TYPE: Final = "application/apply-patch+yaml"  # JSON is YAML
_SUFFIX: Final = {
    Kind.DEPLOYMENT: "deployment",
    Kind.STATEFULSET: "stateful_set",
    Kind.DAEMONSET: "daemon_set",
}


def _apps(api_client: ApiClient) -> Any:
    from kubernetes import client  # noqa: PLC0415 - heavy, operator-only

    return client.AppsV1Api(api_client)


def _core(api_client: ApiClient) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.CoreV1Api(api_client)


def _call(what: str, func: Callable[[], Any]) -> dict[str, Any] | None:
    """The JSON answer of one call; None on 404; other API errors as ``kube.KubeError``."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    try:
        response = func()
    except ApiException as exc:
        if exc.status == 404:
            return None
        detail = f": {exc.body}" if exc.status in (409, 422) else ""
        raise kube.KubeError(
            f"{what}: {exc.status} {exc.reason}{detail}", status=exc.status
        ) from exc
    answer: dict[str, Any] = json.loads(response.data)
    return answer


def read_workload(api_client: ApiClient, key: hostnetwork.WorkloadKey) -> dict[str, Any] | None:
    read = getattr(_apps(api_client), f"read_namespaced_{_SUFFIX[key.kind]}")
    return _call(f"read {key}", lambda: read(key.name, key.namespace, _preload_content=False))


def resolve(
    api_client: ApiClient, pod: RawObject, *, replicasets: dict[str, RawObject | None] | None = None
) -> hostnetwork.WorkloadKey | hostnetwork.NotRemediable:
    """Pod -> ReplicaSet -> Deployment, or StatefulSet / DaemonSet; else not remediable.
    ``replicasets`` caches ReplicaSets read (None: not found) across the pods of a run."""
    cache = {} if replicasets is None else replicasets
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace", "")
    refs = [r for r in meta.get("ownerReferences") or () if r.get("controller")]
    if refs and refs[0].get("kind") == "ReplicaSet":
        name = refs[0]["name"]
        if f"{namespace}/{name}" not in cache:
            apps = _apps(api_client)
            cache[f"{namespace}/{name}"] = _call(
                f"read ReplicaSet {namespace}/{name}",
                lambda: apps.read_namespaced_replica_set(name, namespace, _preload_content=False),
            )
    found = {k: v for k, v in cache.items() if v is not None}
    return hostnetwork.owner_of(pod, replicasets=found)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Gathered:
    """What ``planning.plan`` needs to know beyond the check's own records."""

    owners: Mapping[str, hostnetwork.WorkloadKey | hostnetwork.NotRemediable]  # by pod key
    workloads: Mapping[hostnetwork.WorkloadKey, RawObject]
    namespace_labels: Mapping[str, Mapping[str, str]]
    node_pods: Mapping[str, tuple[RawObject, ...]]


def gather(api_client: ApiClient, *, pods: Iterable[RawObject]) -> Gathered:
    """Owners of ``pods``, their workloads, their namespaces' labels, and every pod on their
    nodes (for port conflicts). Pass every selected pod, including the hostNetwork ones the
    run skipped (the pods of workloads patched already, which count against the budget);
    call it only when some pod is Degraded, as it reads each workload once."""
    owners: dict[str, hostnetwork.WorkloadKey | hostnetwork.NotRemediable] = {}
    nodes: set[str] = set()
    replicasets: dict[str, RawObject | None] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        owner = resolve(api_client, pod, replicasets=replicasets)
        owners[f"{meta.get('namespace')}/{meta.get('name')}"] = owner
        if node := (pod.get("spec") or {}).get("nodeName"):
            nodes.add(node)
    keys = {o for o in owners.values() if isinstance(o, hostnetwork.WorkloadKey)}
    workloads = {k: w for k in sorted(keys) if (w := read_workload(api_client, k)) is not None}
    labels = {ns: _namespace_labels(api_client, ns) for ns in sorted({k.namespace for k in keys})}
    node_pods = {node: _pods_on(api_client, node) for node in sorted(nodes)}
    return Gathered(
        owners=owners, workloads=workloads, namespace_labels=labels, node_pods=node_pods
    )


def _namespace_labels(api_client: ApiClient, namespace: str) -> Mapping[str, str]:
    core = _core(api_client)
    found = _call(
        f"read namespace {namespace}",
        lambda: core.read_namespace(namespace, _preload_content=False),
    )
    labels: Mapping[str, str] = ((found or {}).get("metadata") or {}).get("labels") or {}
    return labels


def _pods_on(api_client: ApiClient, node: str) -> tuple[RawObject, ...]:
    core = _core(api_client)
    listed = _call(
        f"list pods on node {node}",
        lambda: core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node}", _preload_content=False
        ),
    )
    return tuple((listed or {}).get("items") or ())


def apply(api_client: ApiClient, body: RawObject, *, dry_run: bool = False) -> dict[str, Any]:
    """Server-side applies a body of ``planning`` as ``nethealth-operator``; the
    workload must exist (an apply would otherwise create a half-empty one)."""
    meta = body["metadata"]
    key = hostnetwork.WorkloadKey(
        kind=Kind(body["kind"]), namespace=meta["namespace"], name=meta["name"]
    )
    patch = getattr(_apps(api_client), f"patch_namespaced_{_SUFFIX[key.kind]}")
    # Refuse creation: an apply to a missing object creates it, and this one has no pods.
    if read_workload(api_client, key) is None:
        raise kube.KubeError(f"apply to {key}: it does not exist", status=404)
    extra = {"dry_run": "All"} if dry_run else {}
    answer = _call(
        f"apply hostNetwork fields to {key}",
        lambda: patch(
            key.name,
            key.namespace,
            dict(body),
            field_manager=hostnetwork.FIELD_MANAGER,
            force=True,
            _content_type=APPLY_CONTENT_TYPE,
            _preload_content=False,
            **extra,
        ),
    )
    if answer is None:
        raise kube.KubeError(f"apply to {key}: it was deleted meanwhile", status=404)
    return answer


def patch(api_client: ApiClient, verdict: planning.Verdict) -> dict[str, Any]:
    """Applies a planned patch (``Outcome.PATCH``); a DryRun verdict is refused."""
    if verdict.outcome is not planning.Outcome.PATCH or verdict.body is None:
        raise ValueError(
            f"{verdict.subject}: only a Patch verdict is applied, got {verdict.outcome}"
        )
    return apply(api_client, verdict.body)


def revert(api_client: ApiClient, key: hostnetwork.WorkloadKey) -> dict[str, Any] | None:
    """Restores the recorded originals; None when the workload is gone or was never
    patched (nothing recorded: nothing to restore)."""
    live = read_workload(api_client, key)
    if live is None:
        return None
    body = hostnetwork.revert_body(key=key, workload=live)
    return None if body is None else apply(api_client, body)
