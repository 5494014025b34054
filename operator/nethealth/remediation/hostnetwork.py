"""Pure: the hostNetwork patch of a workload, the record of what it replaced, and its revert.

The fallback runs a workload in the node's network namespace: ``spec.template.spec``
``hostNetwork: true`` with ``dnsPolicy: ClusterFirstWithHostNet`` (so cluster DNS still
works). It is applied with server-side apply, in one write that also records the original
values in an annotation on the workload (an absent field as ``null``): no crash can leave
the change without its originals, and the revert restores them exactly.

Only a Deployment (found through its ReplicaSet), StatefulSet or DaemonSet is patched: a
bare pod would come back unchanged, a Job's pod not at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from nethealth.model import raw

RawObject = Mapping[str, Any]

FIELD_MANAGER: Final = "nethealth-operator"
ORIGINAL_ANNOTATION: Final = "nethealth.io/original-network"
BY_ANNOTATION: Final = "nethealth.io/remediated-by"  # the check's namespace/name
AT_ANNOTATION: Final = "nethealth.io/remediated-at"
# Whether the check asked for revert-on-delete when it made the change: a change whose check
# is gone (deleted while the operator was down, its finalizer removed by hand) is reverted by
# the operator's sweep only then.
REVERT_ON_DELETE_ANNOTATION: Final = "nethealth.io/revert-on-delete"
# The check's uid, as a label: the operator finds every change of a check (finalize), every
# change whose check is gone (sweep) and every change at all (the global cap) with one list
# call each, not only through the check's status.
UID_LABEL: Final = "nethealth.io/remediated-by-uid"
HOST_DNS_POLICY: Final = "ClusterFirstWithHostNet"
DEFAULT_DNS_POLICY: Final = "ClusterFirst"  # what the API server sets when none is given


class Kind(enum.StrEnum):
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"
    DAEMONSET = "DaemonSet"


@dataclasses.dataclass(frozen=True, kw_only=True, order=True)
class WorkloadKey:
    kind: Kind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotRemediable:
    """A pod whose owner cannot be patched, and what it is (for the message)."""

    why: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Original:
    """The pod template's values before the patch; None is "absent"."""

    host_network: bool | None
    dns_policy: str | None

    def dump(self) -> str:
        return json.dumps(
            {"hostNetwork": self.host_network, "dnsPolicy": self.dns_policy}, sort_keys=True
        )

    @classmethod
    def load(cls, text: str) -> Original:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"annotation {ORIGINAL_ANNOTATION} is not JSON: {exc}") from exc
        host_network, dns_policy = (data or {}).get("hostNetwork"), (data or {}).get("dnsPolicy")
        if not isinstance(data, dict) or not (
            host_network is None or isinstance(host_network, bool)
        ):
            raise ValueError(
                f"annotation {ORIGINAL_ANNOTATION} must be an object with hostNetwork"
                f" true/false/null and dnsPolicy a string or null, got {text!r}"
            )
        if not (dns_policy is None or isinstance(dns_policy, str)):
            raise ValueError(f"annotation {ORIGINAL_ANNOTATION}: dnsPolicy must be a string")
        return cls(host_network=host_network, dns_policy=dns_policy)


def owner_of(
    pod: RawObject, *, replicasets: Mapping[str, RawObject]
) -> WorkloadKey | NotRemediable:
    """The workload to patch for a pod: Pod -> ReplicaSet -> Deployment, StatefulSet,
    DaemonSet. ``replicasets`` maps namespace/name to the ReplicaSets the caller read."""
    namespace = raw.namespace(pod)
    ref = raw.controller(pod)
    if ref is None:
        return NotRemediable(why="a bare pod (no controller): it would come back unchanged")
    kind, name = ref.get("kind", ""), ref.get("name", "")
    if kind in (Kind.STATEFULSET, Kind.DAEMONSET) and ref.get("apiVersion") == "apps/v1":
        return WorkloadKey(kind=Kind(kind), namespace=namespace, name=name)
    if kind == "ReplicaSet":
        rs = replicasets.get(f"{namespace}/{name}")
        if rs is None:
            return NotRemediable(why=f"owned by ReplicaSet {name}, which was not found")
        parent = raw.controller(rs)
        if parent is None or parent.get("kind") != Kind.DEPLOYMENT:
            return NotRemediable(why=f"owned by ReplicaSet {name} without a Deployment")
        return WorkloadKey(kind=Kind.DEPLOYMENT, namespace=namespace, name=parent.get("name", ""))
    return NotRemediable(why=f"owned by {kind} {name}, which cannot be patched safely")


def owner_facts(pod: RawObject) -> dict[str, Any]:
    """Of a pod, only what finding its workload and node needs (``owner_of``, and the
    node for port conflicts): a run keeps these for every selected pod."""
    meta = raw.meta(pod)
    return {
        "metadata": {
            key: meta[key] for key in ("name", "namespace", "ownerReferences") if key in meta
        },
        "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName")},
    }


def original(workload: RawObject) -> Original:
    spec = pod_spec(workload)
    return Original(host_network=spec.get("hostNetwork"), dns_policy=spec.get("dnsPolicy"))


def patch_body(
    *,
    key: WorkloadKey,
    workload: RawObject,
    check: str,
    check_uid: str,
    revert_on_delete: bool,
    now: datetime.datetime,
) -> dict[str, Any]:
    """The server-side apply body: the two fields, the annotations and the label, nothing
    else; the originals travel in the same write, so no crash can separate them from the
    change."""
    annotations = {
        ORIGINAL_ANNOTATION: original(workload).dump(),
        BY_ANNOTATION: check,
        AT_ANNOTATION: now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        REVERT_ON_DELETE_ANNOTATION: "true" if revert_on_delete else "false",
    }
    return _body(
        key=key,
        labels={UID_LABEL: check_uid},
        annotations=annotations,
        pod_spec={"hostNetwork": True, "dnsPolicy": HOST_DNS_POLICY},
        pod_annotations={BY_ANNOTATION: check},
    )


def revert_body(*, key: WorkloadKey, workload: RawObject) -> dict[str, Any] | None:
    """The apply body restoring the recorded originals, or None when nothing is recorded.

    Applying it as the same field manager drops the annotations (no longer in the body).
    ``hostNetwork`` is restored by value, ``false`` when it was absent (the default, which
    the API server does not store), and ``dnsPolicy`` by value, since the API server would
    otherwise default it to ClusterFirst whatever it was.
    """
    text = annotations_of(workload).get(ORIGINAL_ANNOTATION)
    if text is None:
        return None
    before = Original.load(text)
    # hostNetwork by value even when it was absent: false is the default, which the API
    # server does not store, so the pod template is the same; and only a value (applied
    # with force) takes the field back from a co-owner, such as Argo CD applying the live
    # ``true`` in a sync that respects ignoreDifferences. Letting go would leave it true.
    pod_spec: dict[str, Any] = {"hostNetwork": bool(before.host_network)}
    if before.dns_policy is not None:
        pod_spec["dnsPolicy"] = before.dns_policy
    return _body(key=key, annotations=None, pod_spec=pod_spec)


def release_body(*, key: WorkloadKey) -> dict[str, Any]:
    """The apply body that gives up everything this manager owns: its annotations, label
    and any field it still holds. For a change another manager has changed back since: the
    values are theirs now, and restoring our stale originals over them would undo a newer
    change."""
    return {
        "apiVersion": "apps/v1",
        "kind": str(key.kind),
        "metadata": {"name": key.name, "namespace": key.namespace},
    }


def _body(
    *,
    key: WorkloadKey,
    annotations: Mapping[str, str] | None,
    pod_spec: Mapping[str, Any],
    pod_annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": key.name, "namespace": key.namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    template: dict[str, Any] = {"spec": dict(pod_spec)}
    if pod_annotations:
        # The new pods carry it too: the check measures them (hostNetwork pods are otherwise
        # skipped) to verify the change.
        template["metadata"] = {"annotations": dict(pod_annotations)}
    return {
        "apiVersion": "apps/v1",
        "kind": str(key.kind),
        "metadata": metadata,
        "spec": {"template": template},
    }


def is_patched(workload: RawObject) -> bool:
    spec = pod_spec(workload)
    return spec.get("hostNetwork") is True and spec.get("dnsPolicy") == HOST_DNS_POLICY


def changed_by(workload: RawObject) -> str | None:
    """The check (``namespace/name``) whose change the workload records, if any."""
    if ORIGINAL_ANNOTATION not in annotations_of(workload):
        return None
    return annotations_of(workload).get(BY_ANNOTATION)


def half_reverted(workload: RawObject) -> bool:
    """Our change, with ``dnsPolicy`` set back to its recorded original while
    ``hostNetwork`` stayed true (a manifest that names ``dnsPolicy: ClusterFirst`` and not
    ``hostNetwork``): Kubernetes treats ClusterFirst on a hostNetwork pod as Default, so
    Service names stop resolving. Never left like that. (Any other change of the two fields
    is another manager's considered choice, reported and left alone.)"""
    text = annotations_of(workload).get(ORIGINAL_ANNOTATION)
    spec = pod_spec(workload)
    if text is None or spec.get("hostNetwork") is not True:
        return False
    try:
        before = Original.load(text)
    except ValueError:
        return False
    now = str(spec.get("dnsPolicy") or DEFAULT_DNS_POLICY)
    return now == (before.dns_policy or DEFAULT_DNS_POLICY)


def reverts_on_delete(workload: RawObject) -> bool:
    return annotations_of(workload).get(REVERT_ON_DELETE_ANNOTATION) == "true"


LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
PATCHED: Final = {"hostNetwork": True, "dnsPolicy": HOST_DNS_POLICY}


def claimed_by(workload: RawObject) -> str | None:
    """A manager that *names* ``hostNetwork`` or ``dnsPolicy`` with another value than the
    patch's, so that taking the field would start a round of flip-flop with it: one that
    server-side applied the field (a GitOps tool's Apply), or one whose client-side apply
    manifest names it (``last-applied-configuration``, which its next apply merges back).
    None: nobody means these fields, at most defaulting gave them to the creator.

    Why not let the API server decide (an apply without ``force``)? Whoever created the
    workload owns every field the API server defaulted (``dnsPolicy: ClusterFirst``), so
    an apply without force conflicts on every workload; and a client-side manifest's
    ``hostNetwork: false`` (the default, which is not stored) is owned by nobody at all.
    Only these two signs tell a field someone means from one nobody chose.
    """
    spec = pod_spec(workload)
    for field, value in _last_applied_fields(workload).items():
        if field in PATCHED and value != PATCHED[field]:
            return _annotation_manager(workload, LAST_APPLIED_ANNOTATION)
    for entry in _managed_fields(workload):
        if entry.get("manager") == FIELD_MANAGER or entry.get("operation") != "Apply":
            continue
        fields = _dig(entry.get("fieldsV1") or {}, ("f:spec", "f:template", "f:spec"))
        for field, wanted in PATCHED.items():
            if f"f:{field}" in fields and spec.get(field) != wanted:
                return str(entry.get("manager"))
    return None


def _last_applied_fields(workload: RawObject) -> dict[str, Any]:
    """The pod-template fields a client-side ``kubectl apply`` manifest names."""
    text = annotations_of(workload).get(LAST_APPLIED_ANNOTATION)
    if not text:
        return {}
    try:
        applied = json.loads(text)
    except ValueError:
        return {}
    spec = _dig(applied if isinstance(applied, dict) else {}, ("spec", "template", "spec"))
    return dict(spec)


def _annotation_manager(workload: RawObject, annotation: str) -> str:
    """The manager that wrote an annotation (the client-side applier), by its field."""
    for entry in _managed_fields(workload):
        owned = _dig(entry.get("fieldsV1") or {}, ("f:metadata", "f:annotations"))
        if f"f:{annotation}" in owned:
            return str(entry.get("manager"))
    return "kubectl-client-side-apply"


def reverting_manager(workload: RawObject) -> str:
    """Who changed the fields back: a manager other than ours owning one of them, else the
    latest other manager that wrote the workload's spec (a removed field has no owner)."""
    entries = [e for e in _managed_fields(workload) if e.get("manager") != FIELD_MANAGER]
    template = ("f:spec", "f:template", "f:spec")
    for entry in entries:
        fields = _dig(entry.get("fieldsV1") or {}, template)
        if "f:hostNetwork" in fields or "f:dnsPolicy" in fields:
            return str(entry.get("manager"))
    writers = [e for e in entries if "f:spec" in (e.get("fieldsV1") or {})]
    if writers:
        return str(max(writers, key=lambda e: str(e.get("time") or "")).get("manager"))
    return "an unknown manager"


def _managed_fields(workload: RawObject) -> list[Mapping[str, Any]]:
    return list(raw.meta(workload).get("managedFields") or ())


def _dig(data: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    for part in path:
        data = data.get(part) or {}
    return data


def pod_spec(workload: RawObject) -> Mapping[str, Any]:
    return ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}


def annotations_of(workload: RawObject) -> Mapping[str, str]:
    return raw.annotations(workload)
