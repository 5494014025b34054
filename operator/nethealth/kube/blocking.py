"""Blocking calls for the command line: the plugin, ``nethealth revert`` and the demo.

A command line waits anyway, so these call the client directly (no thread), each on a
``connection.Connection``; they return the API's JSON as it is sent (camelCase), which
is what the pure modules read, and raise ``errors.KubeError``. The operator's own calls
are ``client.Client``'s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from nethealth import model
from nethealth.kube import connection, errors
from nethealth.model import raw

Connection = connection.Connection
connect = connection.connect  # the command line's way to the cluster, as kubectl's


def _call(what: str, func: Callable[[], Any], *, missing_ok: bool = False) -> Any:
    """The JSON answer of one call (None on 404 if ``missing_ok``)."""
    try:
        with errors.translated(what):
            response = func()
    except errors.KubeError as error:
        if error.status == 404 and missing_ok:
            return None
        raise
    return json.loads(response.data) if response.data else {}


def _core(conn: connection.Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.CoreV1Api(conn.client)


def _batch(conn: connection.Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.BatchV1Api(conn.client)


def _custom(conn: connection.Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.CustomObjectsApi(conn.client)


def read_pod(conn: connection.Connection, *, namespace: str, name: str) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read pod {namespace}/{name}",
        lambda: core.read_namespaced_pod(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def read_node(conn: connection.Connection, *, name: str) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read node {name}",
        lambda: core.read_node(name, _preload_content=False),
        missing_ok=True,
    )
    return found


def read_service(
    conn: connection.Connection, *, namespace: str, name: str
) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read service {namespace}/{name}",
        lambda: core.read_namespaced_service(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def create_job(conn: connection.Connection, manifest: Mapping[str, Any]) -> None:
    batch = _batch(conn)
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    _call(
        f"create job {namespace}/{name}",
        lambda: batch.create_namespaced_job(namespace, dict(manifest), _preload_content=False),
    )


def read_job(conn: connection.Connection, *, namespace: str, name: str) -> dict[str, Any] | None:
    batch = _batch(conn)
    found: dict[str, Any] | None = _call(
        f"read job {namespace}/{name}",
        lambda: batch.read_namespaced_job(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def list_jobs(
    conn: connection.Connection, *, namespace: str, selector: str
) -> list[dict[str, Any]]:
    batch = _batch(conn)
    listed = _call(
        f"list jobs in {namespace} matching {selector!r}",
        lambda: batch.list_namespaced_job(
            namespace, label_selector=selector, _preload_content=False
        ),
    )
    return list(listed.get("items") or [])


def list_pods(
    conn: connection.Connection, *, namespace: str, selector: str
) -> list[dict[str, Any]]:
    core = _core(conn)
    listed = _call(
        f"list pods in {namespace} matching {selector!r}",
        lambda: core.list_namespaced_pod(
            namespace, label_selector=selector, _preload_content=False
        ),
    )
    return list(listed.get("items") or [])


def refused(conn: connection.Connection, *, namespace: str, job: str) -> str | None:
    """Why the Job's pod was refused (its newest ``FailedCreate`` Event), or None."""
    core = _core(conn)
    selector = f"involvedObject.kind=Job,involvedObject.name={job},reason=FailedCreate"
    listed = _call(
        f"list events of job {namespace}/{job}",
        lambda: core.list_namespaced_event(
            namespace, field_selector=selector, _preload_content=False
        ),
    )
    return raw.newest_event_message(listed.get("items") or [])


def read_log(
    conn: connection.Connection, *, namespace: str, pod: str, container: str
) -> str | None:
    """A container's log; None when it cannot be read (no permission, no log): the caller
    then has the termination message."""
    core = _core(conn)
    try:
        response = core.read_namespaced_pod_log(
            pod, namespace, container=container, _preload_content=False
        )
    except Exception:  # any failure means the same: use the fallback
        return None
    return bytes(response.data).decode("utf-8", errors="replace")


def delete_job_and_pods(
    conn: connection.Connection, *, namespace: str, name: str, selector: str
) -> None:
    """Deletes the Job and its pods now (the garbage collector would take a while)."""
    batch, core = _batch(conn), _core(conn)
    _call(
        f"delete job {namespace}/{name}",
        lambda: batch.delete_namespaced_job(
            name, namespace, propagation_policy="Background", _preload_content=False
        ),
        missing_ok=True,
    )
    _call(
        f"delete pods of job {namespace}/{name}",
        lambda: core.delete_collection_namespaced_pod(
            namespace, label_selector=selector, grace_period_seconds=0, _preload_content=False
        ),
    )


def list_checks(conn: connection.Connection, *, namespace: str | None) -> list[dict[str, Any]]:
    """The NetHealthChecks of ``namespace``, or of every namespace (None)."""
    custom = _custom(conn)
    where = namespace or "all namespaces"
    try:
        if namespace is None:
            listed = _call(
                f"list {model.PLURAL} in {where}",
                lambda: custom.list_cluster_custom_object(
                    model.GROUP, model.VERSION, model.PLURAL, _preload_content=False
                ),
            )
        else:
            listed = _call(
                f"list {model.PLURAL} in {where}",
                lambda: custom.list_namespaced_custom_object(
                    model.GROUP, model.VERSION, namespace, model.PLURAL, _preload_content=False
                ),
            )
    except errors.KubeError as error:
        if error.status == 404:
            raise errors.KubeError(
                f"the {model.KIND} CRD ({model.PLURAL}.{model.GROUP}) is not installed:"
                " install the chart, or `nethealth crd | kubectl apply -f -`",
                status=404,
            ) from None
        raise
    return list(listed.get("items") or [])


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
    from kubernetes import config, dynamic  # noqa: PLC0415 - heavy: only when a command runs

    api = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    applied = []
    for doc in docs:
        resource = api.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        name = doc["metadata"]["name"]
        target_ns = (doc["metadata"].get("namespace") or namespace) if resource.namespaced else None
        with errors.translated(f"apply {doc['kind']}/{name}"):
            resource.server_side_apply(
                body=dict(doc),
                name=name,
                namespace=target_ns,
                field_manager=field_manager,
                force_conflicts=True,
            )
        applied.append(f"{doc['kind']}/{name}")
    return applied


def wait_for_crd(*, name: str, kubeconfig: str | None, timeout: float = 60.0) -> None:
    """Blocks until the CRD is Established, so objects of its kind can be created."""
    from kubernetes import client, config  # noqa: PLC0415

    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=kubeconfig))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with errors.translated(f"read CRD {name}"):
            crd = api.read_custom_resource_definition(name)
        conditions = (crd.status and crd.status.conditions) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise errors.KubeError(f"CRD {name} not Established after {timeout:.0f} s")


def read_custom_objects(
    *, group: str, version: str, plural: str, namespace: str, kubeconfig: str | None
) -> list[dict[str, Any]]:
    from kubernetes import client, config  # noqa: PLC0415

    api = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
    with errors.translated(f"list {plural} in {namespace}"):
        listed = cast(
            "dict[str, Any]", api.list_namespaced_custom_object(group, version, namespace, plural)
        )
    items: list[dict[str, Any]] = listed["items"]
    return items


def read_pod_uid(*, kubeconfig: str | None, namespace: str, name: str) -> str:
    """A pod's uid (synchronously: for the demo)."""
    from kubernetes import client, config  # noqa: PLC0415

    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    with errors.translated(f"read pod {namespace}/{name}"):
        pod = core.read_namespaced_pod(name, namespace)
    assert pod.metadata is not None
    return str(pod.metadata.uid)
