"""The operator's own workload calls (``loop.owners`` through ``kube.Client``), run to
completion from a synchronous test: what the remediation e2e tests drive directly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import kubernetes

from nethealth import kube
from nethealth.kube import client, connection
from nethealth.loop import owners
from nethealth.remediation import hostnetwork, planning

APPLY_CONTENT_TYPE = client.APPLY_CONTENT_TYPE


def _api(api_client: kubernetes.client.ApiClient) -> kube.Client:
    conn = connection.Connection(client=api_client, namespace="default")
    return kube.Client(conn, field_manager=hostnetwork.FIELD_MANAGER)


def read_workload(api_client: Any, key: hostnetwork.WorkloadKey) -> dict[str, Any] | None:
    found = asyncio.run(_api(api_client).read_workload(key))
    return None if found is None else dict(found)


def apply(
    api_client: Any, body: Mapping[str, Any], *, force: bool = True, dry_run: bool = False
) -> dict[str, Any]:
    return dict(asyncio.run(_api(api_client).apply_workload(body, force=force, dry_run=dry_run)))


def resolve(api_client: Any, pod: Mapping[str, Any]) -> owners.Owner:
    return asyncio.run(owners.resolve(_api(api_client), pod, replicasets={}))


def patch(api_client: Any, verdict: planning.Verdict) -> dict[str, Any]:
    return dict(asyncio.run(owners.patch(_api(api_client), verdict)))


def revert(api_client: Any, key: hostnetwork.WorkloadKey) -> dict[str, Any] | None:
    found = asyncio.run(owners.revert(_api(api_client), key))
    return None if found is None else dict(found)


def gather(api_client: Any, *, pods: Iterable[Mapping[str, Any]]) -> owners.Gathered:
    return asyncio.run(owners.gather(_api(api_client), pods=pods))
