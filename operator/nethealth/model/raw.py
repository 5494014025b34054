"""Kubernetes objects as the API sends them (camelCase JSON), typed, with small accessors.

The operator reads other people's objects (pods, nodes, Jobs, workloads) as raw JSON: a
typed client model would turn every field into Python names and back. These
``TypedDict`` s name the fields the operator reads, all optional (``total=False``: the API
omits empty ones), so mypy checks each lookup; the accessors answer the questions asked
of every object (its name, its ``namespace/name`` key, its labels) in one place instead of
a chain of ``.get(...) or {}`` at every use.

A ``TypedDict`` is a ``Mapping[str, Any]``, so pure functions that take a mapping accept
these as they are.
"""

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict


class OwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    generation: int
    resourceVersion: str
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]
    managedFields: list[dict[str, Any]]


class Object(TypedDict, total=False):
    """Any object: what every kind has."""

    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: dict[str, Any]


class PodSpec(TypedDict, total=False):
    nodeName: str
    hostNetwork: bool
    dnsPolicy: str
    containers: list[dict[str, Any]]


class PodStatus(TypedDict, total=False):
    phase: str
    reason: str
    message: str
    podIP: str
    containerStatuses: list[dict[str, Any]]


class Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus


Node = Object
Job = Object
Workload = Object  # a Deployment, StatefulSet or DaemonSet
Check = Object  # a NetHealthCheck, before ``model.parse``


def meta(obj: Mapping[str, Any] | None) -> ObjectMeta:
    """The object's metadata; empty when it has none."""
    found: ObjectMeta | None = (obj or {}).get("metadata")
    return found or ObjectMeta()


def name(obj: Mapping[str, Any] | None) -> str:
    return meta(obj).get("name", "")


def namespace(obj: Mapping[str, Any] | None) -> str:
    return meta(obj).get("namespace", "")


def uid(obj: Mapping[str, Any] | None) -> str:
    return meta(obj).get("uid", "")


def key(obj: Mapping[str, Any] | None) -> str:
    """``namespace/name``: how the operator names a pod or Job in status and Events."""
    return f"{namespace(obj)}/{name(obj)}"


def generation(obj: Mapping[str, Any] | None) -> int | None:
    found = meta(obj).get("generation")
    return found if isinstance(found, int) else None


def labels(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def finalizers(obj: Mapping[str, Any] | None) -> list[str]:
    return list(meta(obj).get("finalizers") or ())


def deleted(obj: Mapping[str, Any] | None) -> bool:
    """Marked for deletion (held by a finalizer, or on its way)."""
    return bool(meta(obj).get("deletionTimestamp"))


def status(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = (obj or {}).get("status") or {}
    return found


def controller(obj: Mapping[str, Any] | None) -> OwnerReference | None:
    """The owner reference that controls the object (its ReplicaSet, StatefulSet, ...)."""
    return next((r for r in meta(obj).get("ownerReferences") or () if r.get("controller")), None)


def involved(obj: Mapping[str, Any]) -> dict[str, str]:
    """An Event's ``involvedObject`` for ``obj``."""
    return {
        "apiVersion": str(obj.get("apiVersion", "")),
        "kind": str(obj.get("kind", "")),
        "namespace": namespace(obj),
        "name": name(obj),
        "uid": uid(obj),
    }


def newest_event_message(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The message of the newest of ``events``, or None."""
    listed = list(events)
    if not listed:
        return None
    newest = max(listed, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return str(newest.get("message") or "") or None
