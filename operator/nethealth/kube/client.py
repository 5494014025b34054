"""The operator's Kubernetes client: one object, every API call the operator makes.

The loop shells receive an ``Api`` (this module's protocol) and never import the client
library, so a test can hand them an in-memory cluster instead (``tests/unit/fakekube``)
and run a whole check loop in milliseconds. ``Client`` is the real one: the official
client is synchronous, so each call runs in a thread (``asyncio.to_thread``) and kopf's
event loop never blocks on the network. Answers are the API's JSON as it is sent
(camelCase), which is what the pure modules read; errors are ``errors.KubeError``.

The chart's RBAC is checked against this class: every client method called here needs a
rule, and a rule no call uses fails the test (``tests/e2e/test_chart_render.py``).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from nethealth import model
from nethealth.kube import connection, errors
from nethealth.model import raw
from nethealth.remediation import hostnetwork

APPLY_CONTENT_TYPE: Final = "application/apply-patch+yaml"  # JSON is YAML
MERGE_CONTENT_TYPE: Final = "application/merge-patch+json"
# The apps/v1 method suffix of each kind the remediation patches.
_SUFFIX: Final = {
    hostnetwork.Kind.DEPLOYMENT: "deployment",
    hostnetwork.Kind.STATEFULSET: "stateful_set",
    hostnetwork.Kind.DAEMONSET: "daemon_set",
}


class Api(Protocol):
    """What the loop shells need of the cluster (``Client``, or an in-memory fake)."""

    async def list_pods(self, *, namespace: str, label_selector: str) -> list[raw.Pod]: ...
    async def list_pods_on_node(self, node: str) -> list[raw.Pod]: ...
    async def list_nodes(self) -> list[raw.Node]: ...
    async def list_namespaces(self, *, label_selector: str) -> list[str]: ...
    async def namespace_labels(self, namespace: str) -> Mapping[str, str]: ...
    async def list_jobs_everywhere(self, *, label_selector: str) -> list[raw.Job]: ...
    async def create_job(self, manifest: Mapping[str, Any]) -> bool: ...
    async def delete_job(self, *, namespace: str, name: str) -> None: ...
    async def evict_pod(self, *, namespace: str, name: str, uid: str) -> None: ...
    async def latest_event_message(
        self, *, namespace: str, kind: str, name: str, reason: str
    ) -> str | None: ...
    async def post_event(
        self, *, involved: Mapping[str, str], type: str, reason: str, message: str
    ) -> None: ...
    async def list_check_uids(self) -> set[str]: ...
    async def read_check(self, *, namespace: str, name: str) -> raw.Check | None: ...
    async def set_check_finalizers(
        self, *, namespace: str, name: str, finalizers: list[str], resource_version: str
    ) -> None: ...
    async def patch_check_status(
        self, *, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> None: ...
    async def read_replicaset(self, *, namespace: str, name: str) -> raw.Object | None: ...
    async def read_workload(self, key: hostnetwork.WorkloadKey) -> raw.Workload | None: ...
    async def list_workloads(self, *, label_selector: str) -> list[raw.Workload]: ...
    async def apply_workload(self, body: Mapping[str, Any], *, force: bool) -> raw.Workload: ...
    async def read_lease(self, *, namespace: str, name: str) -> raw.Object | None: ...
    async def write_lease(
        self,
        *,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        resource_version: str | None,
    ) -> bool: ...


class Client:
    """The real ``Api``: the official client, one thread per call.

    ``field_manager`` names this operator in ``managedFields`` of what it writes (the
    check's status) and as the Events' reporting component. ``namespaces``: the operator
    is confined to these (the chart's Roles, ``rbac.namespaces``), so what it otherwise
    lists cluster-wide it lists in each of them; empty: cluster-wide.
    """

    def __init__(
        self,
        conn: connection.Connection,
        *,
        field_manager: str,
        namespaces: frozenset[str] = frozenset(),
    ) -> None:
        self._conn = conn
        self._field_manager = field_manager
        self._namespaces = tuple(sorted(namespaces))

    @classmethod
    def for_operator(
        cls, *, field_manager: str, namespaces: frozenset[str] = frozenset()
    ) -> Client:
        return cls(connection.for_operator(), field_manager=field_manager, namespaces=namespaces)

    @property
    def connection(self) -> connection.Connection:
        """The connection, for the watches of the shared view (``watching``)."""
        return self._conn

    # --- the client library's API groups ---------------------------------------------------

    def _group(self, name: str) -> Any:
        """One API group of the client library (``CoreV1Api``, ...) on this connection."""
        from kubernetes import client  # noqa: PLC0415 - heavy, operator-only

        return getattr(client, name)(self._conn.client)

    @functools.cached_property
    def _core(self) -> Any:
        return self._group("CoreV1Api")

    @functools.cached_property
    def _batch(self) -> Any:
        return self._group("BatchV1Api")

    @functools.cached_property
    def _apps(self) -> Any:
        return self._group("AppsV1Api")

    @functools.cached_property
    def _custom(self) -> Any:
        return self._group("CustomObjectsApi")

    @functools.cached_property
    def _coordination(self) -> Any:
        return self._group("CoordinationV1Api")

    # --- pods, nodes, namespaces -------------------------------------------------------------

    async def _everywhere(
        self, what: str, *, each: Callable[[str], Any], every: Callable[[], Any]
    ) -> list[Any]:
        """The items of a list in every namespace the operator serves: one call per
        namespace when it is confined to some (its Roles grant no cluster-wide list), else
        one call for all."""
        if not self._namespaces:
            return await _items(f"{what} in all namespaces", every)
        found: list[Any] = []
        for namespace in self._namespaces:
            found += await _items(f"{what} in {namespace}", functools.partial(each, namespace))
        return found

    async def list_pods(self, *, namespace: str, label_selector: str) -> list[raw.Pod]:
        core = self._core
        found: list[raw.Pod] = await _items(
            f"list pods in {namespace} matching {label_selector!r}",
            lambda: core.list_namespaced_pod(
                namespace, label_selector=label_selector, _preload_content=False
            ),
        )
        return found

    async def list_pods_on_node(self, node: str) -> list[raw.Pod]:
        core = self._core
        selector = f"spec.nodeName={node}"
        found: list[raw.Pod] = await self._everywhere(
            f"list pods on node {node}",
            each=lambda namespace: core.list_namespaced_pod(
                namespace, field_selector=selector, _preload_content=False
            ),
            every=lambda: core.list_pod_for_all_namespaces(
                field_selector=selector, _preload_content=False
            ),
        )
        return found

    async def list_nodes(self) -> list[raw.Node]:
        core = self._core
        found: list[raw.Node] = await _items(
            "list nodes", lambda: core.list_node(_preload_content=False)
        )
        return found

    async def list_namespaces(self, *, label_selector: str) -> list[str]:
        """Names of the namespaces matching ``label_selector`` (sorted)."""
        core = self._core
        listed: list[raw.Object] = await _items(
            f"list namespaces matching {label_selector!r}",
            lambda: core.list_namespace(label_selector=label_selector, _preload_content=False),
        )
        names = {raw.name(n) for n in listed}
        return sorted(names & set(self._namespaces) if self._namespaces else names)

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        """A namespace's labels (Pod Security levels); none when it is not found."""
        core = self._core
        found: raw.Object | None = await _json_or_none(
            f"read namespace {namespace}",
            lambda: core.read_namespace(namespace, _preload_content=False),
        )
        return raw.labels(found) if found is not None else {}

    async def evict_pod(self, *, namespace: str, name: str, uid: str) -> None:
        """Evicts a pod so its controller recreates it (the restart of a remediation
        ladder), through the Eviction API so that PodDisruptionBudgets hold: a budget that
        forbids it is a ``KubeError`` with status 429. Only the pod with ``uid``: one
        recreated under the same name meanwhile is kept."""
        core = self._core
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
            "deleteOptions": {"preconditions": {"uid": uid}},
        }
        try:
            await _call(
                f"evict pod {namespace}/{name}",
                lambda: core.create_namespaced_pod_eviction(
                    name, namespace, body, _preload_content=False
                ),
            )
        except errors.KubeError as error:
            if error.status not in (404, 409):
                raise

    # --- probe Jobs -----------------------------------------------------------------------

    async def list_jobs_everywhere(self, *, label_selector: str) -> list[raw.Job]:
        """Jobs of every namespace: a check's Jobs follow its pods' namespaces."""
        batch = self._batch
        found: list[raw.Job] = await self._everywhere(
            f"list jobs matching {label_selector!r}",
            each=lambda namespace: batch.list_namespaced_job(
                namespace, label_selector=label_selector, _preload_content=False
            ),
            every=lambda: batch.list_job_for_all_namespaces(
                label_selector=label_selector, _preload_content=False
            ),
        )
        return found

    async def create_job(self, manifest: Mapping[str, Any]) -> bool:
        """Creates a Job; False when it exists already (a run adopted after a restart)."""
        batch = self._batch
        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        try:
            await _call(
                f"create job {namespace}/{name}",
                lambda: batch.create_namespaced_job(
                    namespace, dict(manifest), _preload_content=False
                ),
            )
        except errors.KubeError as error:
            if error.status == 409:
                return False
            raise
        return True

    async def delete_job(self, *, namespace: str, name: str) -> None:
        """Deletes a Job and (in the background) its pods; a Job already gone is fine."""
        batch = self._batch
        try:
            await _call(
                f"delete job {namespace}/{name}",
                lambda: batch.delete_namespaced_job(
                    name, namespace, propagation_policy="Background", _preload_content=False
                ),
            )
        except errors.KubeError as error:
            if error.status != 404:
                raise

    # --- Events -----------------------------------------------------------------------------

    async def latest_event_message(
        self, *, namespace: str, kind: str, name: str, reason: str
    ) -> str | None:
        """The message of the newest Event with ``reason`` about an object, or None."""
        core = self._core
        selector = f"involvedObject.kind={kind},involvedObject.name={name},reason={reason}"
        items: list[raw.Object] = await _items(
            f"list events of {kind} {namespace}/{name}",
            lambda: core.list_namespaced_event(
                namespace, field_selector=selector, _preload_content=False
            ),
        )
        return raw.newest_event_message(items)

    async def post_event(
        self, *, involved: Mapping[str, str], type: str, reason: str, message: str
    ) -> None:
        """A core/v1 Event about ``involved`` (apiVersion, kind, namespace, name, uid)."""
        core = self._core
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        namespace = involved["namespace"]
        component = self._field_manager
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{involved['name'][:200]}.", "namespace": namespace},
            "involvedObject": dict(involved),
            "type": type,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": None,
            "count": 1,
        }
        await _call(
            f"post event {reason} on {involved['kind']} {namespace}/{involved['name']}",
            lambda: core.create_namespaced_event(namespace, body, _preload_content=False),
        )

    # --- NetHealthChecks ------------------------------------------------------------------

    async def list_check_uids(self) -> set[str]:
        """The uids of every NetHealthCheck in the cluster (to find Jobs whose check is gone)."""
        custom = self._custom
        listed: list[raw.Object] = await self._everywhere(
            f"list {model.PLURAL}",
            each=lambda namespace: custom.list_namespaced_custom_object(
                model.GROUP, model.VERSION, namespace, model.PLURAL, _preload_content=False
            ),
            every=lambda: custom.list_cluster_custom_object(
                model.GROUP, model.VERSION, model.PLURAL, _preload_content=False
            ),
        )
        return {raw.uid(c) for c in listed}

    async def read_check(self, *, namespace: str, name: str) -> raw.Check | None:
        custom = self._custom
        found: raw.Check | None = await _json_or_none(
            f"read {model.PLURAL} {namespace}/{name}",
            lambda: custom.get_namespaced_custom_object(
                model.GROUP, model.VERSION, namespace, model.PLURAL, name, _preload_content=False
            ),
        )
        return found

    async def set_check_finalizers(
        self, *, namespace: str, name: str, finalizers: list[str], resource_version: str
    ) -> None:
        """Replaces the check's finalizers, only if it is unchanged since ``resource_version``
        (a 409 otherwise: someone else changed them meanwhile, retry from a fresh read)."""
        custom = self._custom
        body = {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}}
        await _call(
            f"set finalizers of {model.PLURAL} {namespace}/{name}",
            lambda: custom.patch_namespaced_custom_object(
                model.GROUP,
                model.VERSION,
                namespace,
                model.PLURAL,
                name,
                body,
                _content_type=MERGE_CONTENT_TYPE,
                _preload_content=False,
            ),
        )

    async def patch_check_status(
        self, *, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> None:
        """A JSON merge patch of the check's status subresource (only the fields given)."""
        custom = self._custom
        body = {"status": dict(patch)}
        await _call(
            f"patch status of {model.PLURAL} {namespace}/{name}",
            lambda: custom.patch_namespaced_custom_object_status(
                model.GROUP,
                model.VERSION,
                namespace,
                model.PLURAL,
                name,
                body,
                field_manager=self._field_manager,
                _preload_content=False,
            ),
        )

    # --- workloads (remediation) ------------------------------------------------------------

    async def read_replicaset(self, *, namespace: str, name: str) -> raw.Object | None:
        apps = self._apps
        found: raw.Object | None = await _json_or_none(
            f"read ReplicaSet {namespace}/{name}",
            lambda: apps.read_namespaced_replica_set(name, namespace, _preload_content=False),
        )
        return found

    async def read_workload(self, key: hostnetwork.WorkloadKey) -> raw.Workload | None:
        read = getattr(self._apps, f"read_namespaced_{_SUFFIX[key.kind]}")
        found: raw.Workload | None = await _json_or_none(
            f"read {key}", lambda: read(key.name, key.namespace, _preload_content=False)
        )
        return found

    async def list_workloads(self, *, label_selector: str) -> list[raw.Workload]:
        """Deployments, StatefulSets and DaemonSets of every namespace with the labels
        (each with its ``kind``, which a list's items lack)."""
        found: list[raw.Workload] = []
        for kind, suffix in _SUFFIX.items():
            listed: list[raw.Workload] = []
            for namespace in self._namespaces:
                listed += await _items(
                    f"list {kind}s in {namespace} matching {label_selector!r}",
                    functools.partial(
                        getattr(self._apps, f"list_namespaced_{suffix}"),
                        namespace,
                        label_selector=label_selector,
                        _preload_content=False,
                    ),
                )
            if not self._namespaces:
                listed = await _items(
                    f"list {kind}s matching {label_selector!r}",
                    functools.partial(
                        getattr(self._apps, f"list_{suffix}_for_all_namespaces"),
                        label_selector=label_selector,
                        _preload_content=False,
                    ),
                )
            for workload in listed:
                workload["kind"], workload["apiVersion"] = str(kind), "apps/v1"
            found += listed
        return found

    async def apply_workload(
        self, body: Mapping[str, Any], *, force: bool, dry_run: bool = False
    ) -> raw.Workload:
        """Server-side applies a body of ``hostnetwork`` as ``nethealth-operator``; the
        workload must exist (an apply to a missing object would create a half-empty one,
        with no pods). Without ``force`` a field another manager owns with another value is
        a conflict (409), not taken; ``dry_run``: the API server validates and answers, and
        stores nothing."""
        meta = body["metadata"]
        key = hostnetwork.WorkloadKey(
            kind=hostnetwork.Kind(body["kind"]), namespace=meta["namespace"], name=meta["name"]
        )
        if await self.read_workload(key) is None:
            raise errors.KubeError(f"apply to {key}: it does not exist", status=404)
        patch = getattr(self._apps, f"patch_namespaced_{_SUFFIX[key.kind]}")
        answer: raw.Workload | None = await _json_or_none(
            f"apply hostNetwork fields to {key}",
            lambda: patch(
                key.name,
                key.namespace,
                dict(body),
                field_manager=hostnetwork.FIELD_MANAGER,
                force=force,
                _content_type=APPLY_CONTENT_TYPE,
                _preload_content=False,
                **({"dry_run": "All"} if dry_run else {}),
            ),
        )
        if answer is None:
            raise errors.KubeError(f"apply to {key}: it was deleted meanwhile", status=404)
        return answer

    # --- the leader's Lease -------------------------------------------------------------------

    async def read_lease(self, *, namespace: str, name: str) -> raw.Object | None:
        api = self._coordination
        found: raw.Object | None = await _json_or_none(
            f"read lease {namespace}/{name}",
            lambda: api.read_namespaced_lease(name, namespace, _preload_content=False),
        )
        return found

    async def write_lease(
        self,
        *,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        resource_version: str | None,
    ) -> bool:
        """Creates (no version) or replaces (at that version) the Lease; False on a conflict,
        i.e. another replica wrote it first."""
        api = self._coordination
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": dict(spec),
        }
        try:
            if resource_version is None:
                await _call(
                    f"create lease {namespace}/{name}",
                    lambda: api.create_namespaced_lease(namespace, body, _preload_content=False),
                )
            else:
                body["metadata"]["resourceVersion"] = resource_version
                await _call(
                    f"replace lease {namespace}/{name}",
                    lambda: api.replace_namespaced_lease(
                        name, namespace, body, _preload_content=False
                    ),
                )
        except errors.KubeError as error:
            if error.status in (409, 422):
                return False
            raise
        return True


async def _call(what: str, func: Callable[[], Any]) -> Any:
    """One call in a thread; its answer's JSON (camelCase, as the API sends it)."""

    def call() -> Any:
        with errors.translated(what):
            response = func()
        return json.loads(response.data) if response.data else {}

    return await asyncio.to_thread(call)


async def _json_or_none(what: str, func: Callable[[], Any]) -> Any:
    """The answer of a read, or None when the object is not found."""
    try:
        return await _call(what, func)
    except errors.KubeError as error:
        if error.status == 404:
            return None
        raise


async def _items(what: str, func: Callable[[], Any]) -> list[Any]:
    """The ``items`` of a list call."""
    listed = await _call(what, func)
    return list(listed.get("items") or [])
