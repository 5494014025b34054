"""The only module that talks to the Kubernetes API (besides kopf's own watching).

The official client is synchronous; the operator calls it through ``asyncio.to_thread``
so that kopf's event loop never blocks on the network. API errors become ``KubeError``
with the verb and object named, so callers never import the client's exception types.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

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


async def count_pods(*, namespace: str, label_selector: str) -> int:
    """How many pods in ``namespace`` match; not yet filtered by readiness (issue 5 does)."""
    core = _core()
    pods = await _call(
        f"list pods in {namespace} matching {label_selector!r}",
        lambda: core.list_namespaced_pod(namespace, label_selector=label_selector),
    )
    return len(pods.items)


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
