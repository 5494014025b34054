"""The only module that talks to the Kubernetes API (besides kopf's own watching).

The official client is synchronous; the operator calls it through ``asyncio.to_thread``
so that kopf's event loop never blocks on the network. API errors become ``KubeError``
with the verb and object named, so callers never import the client's exception types.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

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
