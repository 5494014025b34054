"""The only module that talks to the Kubernetes API (besides kopf's own watching).

The official client is synchronous; the operator calls it through ``asyncio.to_thread``
so that kopf's event loop never blocks on the network. API errors become ``KubeError``
with the verb and object named, so callers never import the client's exception types.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from nethealth import model

T = TypeVar("T")


class KubeError(RuntimeError):
    """An API call failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@functools.cache
def _core() -> Any:
    from kubernetes import client, config  # noqa: PLC0415 - heavy, operator-only

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CoreV1Api()


async def _call(what: str, func: Callable[[], T]) -> T:
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    try:
        return await asyncio.to_thread(func)
    except ApiException as exc:
        raise KubeError(f"{what}: {exc.status} {exc.reason}", status=exc.status) from exc


@functools.cache
def _batch() -> Any:
    from kubernetes import client  # noqa: PLC0415

    _core()  # loads the configuration once
    return client.BatchV1Api()


@functools.cache
def _custom() -> Any:
    from kubernetes import client  # noqa: PLC0415

    _core()
    return client.CustomObjectsApi()


@functools.cache
def api_client() -> Any:
    """The configured client, for the synchronous modules that take one (``workloads``)."""
    from kubernetes import client  # noqa: PLC0415

    _core()
    return client.ApiClient()


def _json(response: Any) -> dict[str, Any]:
    """A raw response (``_preload_content=False``) as JSON: camelCase, as the API sends it."""
    return cast("dict[str, Any]", json.loads(response.data))


async def _items(what: str, func: Callable[[], Any]) -> list[dict[str, Any]]:
    listed = _json(await _call(what, func))
    return cast("list[dict[str, Any]]", listed.get("items") or [])


async def list_pods(*, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    core = _core()
    return await _items(
        f"list pods in {namespace} matching {label_selector!r}",
        lambda: core.list_namespaced_pod(
            namespace, label_selector=label_selector, _preload_content=False
        ),
    )


async def list_nodes() -> list[dict[str, Any]]:
    core = _core()
    return await _items("list nodes", lambda: core.list_node(_preload_content=False))


async def list_jobs(*, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    batch = _batch()
    return await _items(
        f"list jobs in {namespace} matching {label_selector!r}",
        lambda: batch.list_namespaced_job(
            namespace, label_selector=label_selector, _preload_content=False
        ),
    )


async def list_jobs_everywhere(*, label_selector: str) -> list[dict[str, Any]]:
    """Jobs of every namespace: a check's Jobs follow its pods' namespaces."""
    batch = _batch()
    return await _items(
        f"list jobs in all namespaces matching {label_selector!r}",
        lambda: batch.list_job_for_all_namespaces(
            label_selector=label_selector, _preload_content=False
        ),
    )


async def list_namespaces(*, label_selector: str) -> list[str]:
    """Names of the namespaces matching ``label_selector`` (sorted)."""
    core = _core()
    listed = await _items(
        f"list namespaces matching {label_selector!r}",
        lambda: core.list_namespace(label_selector=label_selector, _preload_content=False),
    )
    return sorted(str(n["metadata"]["name"]) for n in listed)


async def list_check_uids() -> set[str]:
    """The uids of every NetHealthCheck in the cluster (to find Jobs whose check is gone)."""
    custom = _custom()
    listed = await _items(
        f"list {model.PLURAL} in all namespaces",
        lambda: custom.list_cluster_custom_object(
            model.GROUP, model.VERSION, model.PLURAL, _preload_content=False
        ),
    )
    return {str(c["metadata"]["uid"]) for c in listed}


async def create_job(manifest: Mapping[str, Any]) -> bool:
    """Creates a Job; False when it exists already (a run adopted after a restart)."""
    batch = _batch()
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    try:
        await _call(
            f"create job {namespace}/{name}",
            lambda: batch.create_namespaced_job(namespace, dict(manifest), _preload_content=False),
        )
    except KubeError as error:
        if error.status == 409:
            return False
        raise
    return True


async def delete_job(*, namespace: str, name: str) -> None:
    """Deletes a Job and (in the background) its pods; a Job already gone is fine."""
    batch = _batch()
    try:
        await _call(
            f"delete job {namespace}/{name}",
            lambda: batch.delete_namespaced_job(
                name, namespace, propagation_policy="Background", _preload_content=False
            ),
        )
    except KubeError as error:
        if error.status != 404:
            raise


async def delete_pod(*, namespace: str, name: str, uid: str) -> None:
    """Deletes a pod so its controller recreates it (the restart of a remediation ladder);
    only the pod with ``uid``: a pod recreated under the same name meanwhile is kept."""
    core = _core()
    try:
        await _call(
            f"delete pod {namespace}/{name}",
            lambda: core.delete_namespaced_pod(
                name,
                namespace,
                body={"preconditions": {"uid": uid}},
                _preload_content=False,
            ),
        )
    except KubeError as error:
        if error.status not in (404, 409):
            raise


async def read_check(*, namespace: str, name: str) -> dict[str, Any] | None:
    custom = _custom()
    try:
        return _json(
            await _call(
                f"read {model.PLURAL} {namespace}/{name}",
                lambda: custom.get_namespaced_custom_object(
                    model.GROUP,
                    model.VERSION,
                    namespace,
                    model.PLURAL,
                    name,
                    _preload_content=False,
                ),
            )
        )
    except KubeError as error:
        if error.status == 404:
            return None
        raise


async def set_check_finalizers(
    *, namespace: str, name: str, finalizers: list[str], resource_version: str
) -> None:
    """Replaces the check's finalizers, only if it is unchanged since ``resource_version``
    (a 409 otherwise: someone else changed them meanwhile, retry from a fresh read)."""
    custom = _custom()
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
            _content_type="application/merge-patch+json",
            _preload_content=False,
        ),
    )


async def patch_check_status(
    *, namespace: str, name: str, patch: Mapping[str, Any], field_manager: str
) -> None:
    """A JSON merge patch of the check's status subresource (only the fields given)."""
    custom = _custom()
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
            field_manager=field_manager,
            _preload_content=False,
        ),
    )


async def post_event(
    *,
    involved: Mapping[str, str],
    type: str,
    reason: str,
    message: str,
    component: str,
) -> None:
    """A core/v1 Event about ``involved`` (apiVersion, kind, namespace, name, uid)."""
    import datetime  # noqa: PLC0415

    core = _core()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    namespace = involved["namespace"]
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


def apply_manifests(
    *,
    docs: Iterable[Mapping[str, Any]],
    kubeconfig: str | None,
    namespace: str,
    field_manager: str,
) -> list[str]:
    """Server-side applies each document (synchronously: for the demo and the CLI).

    Namespaced objects without a namespace land in ``namespace``. Returns "Kind/name" of
    each applied object, in order.
    """
    from kubernetes import config, dynamic  # noqa: PLC0415 - heavy, operator-only
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    api = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    applied = []
    for doc in docs:
        resource = api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        name = doc["metadata"]["name"]
        target_ns = (doc["metadata"].get("namespace") or namespace) if resource.namespaced else None
        try:
            resource.server_side_apply(
                body=dict(doc),
                name=name,
                namespace=target_ns,
                field_manager=field_manager,
                force_conflicts=True,
            )
        except ApiException as exc:
            raise KubeError(
                f"apply {doc['kind']}/{name}: {exc.status} {exc.reason}: {exc.body}",
                status=exc.status,
            ) from exc
        applied.append(f"{doc['kind']}/{name}")
    return applied


def wait_for_crd(*, name: str, kubeconfig: str | None, timeout: float = 60.0) -> None:
    """Blocks until the CRD is Established, so objects of its kind can be created."""
    import time  # noqa: PLC0415

    from kubernetes import client, config  # noqa: PLC0415

    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=kubeconfig))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = api.read_custom_resource_definition(name)
        conditions = (crd.status and crd.status.conditions) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise KubeError(f"CRD {name} not Established after {timeout:.0f} s")


def read_custom_objects(
    *, group: str, version: str, plural: str, namespace: str, kubeconfig: str | None
) -> list[dict[str, Any]]:
    from kubernetes import client, config  # noqa: PLC0415

    api = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
    listed = cast(
        "dict[str, Any]", api.list_namespaced_custom_object(group, version, namespace, plural)
    )
    items: list[dict[str, Any]] = listed["items"]
    return items


def read_pod_uid(*, kubeconfig: str | None, namespace: str, name: str) -> str:
    """A pod's uid (synchronously: for the demo)."""
    from kubernetes import client, config  # noqa: PLC0415

    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    pod = core.read_namespaced_pod(name, namespace)
    assert pod.metadata is not None
    return str(pod.metadata.uid)


@functools.cache
def _coordination() -> Any:
    from kubernetes import client  # noqa: PLC0415

    _core()
    return client.CoordinationV1Api()


async def read_lease(*, namespace: str, name: str) -> dict[str, Any] | None:
    api = _coordination()
    try:
        return _json(
            await _call(
                f"read lease {namespace}/{name}",
                lambda: api.read_namespaced_lease(name, namespace, _preload_content=False),
            )
        )
    except KubeError as error:
        if error.status == 404:
            return None
        raise


async def write_lease(
    *, namespace: str, name: str, spec: Mapping[str, Any], resource_version: str | None
) -> bool:
    """Creates (no version) or replaces (at that version) the Lease; False on a conflict,
    i.e. another replica wrote it first."""
    api = _coordination()
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
                lambda: api.replace_namespaced_lease(name, namespace, body, _preload_content=False),
            )
    except KubeError as error:
        if error.status in (409, 422):
            return False
        raise
    return True


async def latest_event_message(*, namespace: str, kind: str, name: str, reason: str) -> str | None:
    """The message of the newest Event with ``reason`` about an object, or None."""
    core = _core()
    selector = f"involvedObject.kind={kind},involvedObject.name={name},reason={reason}"
    items = await _items(
        f"list events of {kind} {namespace}/{name}",
        lambda: core.list_namespaced_event(
            namespace, field_selector=selector, _preload_content=False
        ),
    )
    if not items:
        return None
    newest = max(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return str(newest.get("message") or "") or None
