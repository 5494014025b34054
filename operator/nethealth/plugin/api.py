"""The plugin's only module that calls the Kubernetes API.

The kubeconfig is found the way kubectl finds it: ``--kubeconfig``, else ``$KUBECONFIG``
(a list of files is merged), else ``~/.kube/config``, else the in-cluster service
account; ``--context`` picks a context, whose namespace is the default for ``-n``.
Calls are synchronous (a command line waits anyway) and return the API's JSON as it is
sent (camelCase), which is what the pure modules read. API errors become ``ApiError``
with the verb and object named, so commands never import the client's exception types.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from nethealth import model

SERVICE_ACCOUNT_NAMESPACE: Final = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

ApiClient = Any  # kubernetes.client.ApiClient: the client ships no type hints


class ApiError(RuntimeError):
    """A call failed, or there is no cluster to call; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True, kw_only=True)
class Connection:
    client: ApiClient
    namespace: str  # the context's namespace: the default of -n


def connect(*, kubeconfig: str | None, context: str | None) -> Connection:
    """A client for the cluster kubectl would use with the same flags and environment."""
    from kubernetes import client  # noqa: PLC0415 - heavy: only when a command runs
    from kubernetes import config as kubeconfig_module  # noqa: PLC0415

    config: Any = kubeconfig_module  # partly typed; its loaders are not
    configuration = client.Configuration()
    if kubeconfig is None and _in_cluster_only():
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as exc:
            raise ApiError(f"in-cluster configuration: {exc}") from None
        namespace = pathlib.Path(SERVICE_ACCOUNT_NAMESPACE).read_text().strip() or "default"
        return Connection(client=client.ApiClient(configuration), namespace=namespace)
    try:
        config.load_kube_config(
            config_file=kubeconfig,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ApiError(f"kubeconfig {where}: {exc}") from None
    chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
    namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    return Connection(client=client.ApiClient(configuration), namespace=str(namespace))


def _in_cluster_only() -> bool:
    """No kubeconfig anywhere, but a service account: we run in a pod."""
    if os.environ.get("KUBECONFIG"):
        return False
    if pathlib.Path("~/.kube/config").expanduser().exists():
        return False
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def _call(what: str, func: Callable[[], Any], *, missing_ok: bool = False) -> Any:
    """The JSON answer of one call (None on 404 if ``missing_ok``)."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    try:
        response = func()
    except ApiException as exc:
        if exc.status == 404 and missing_ok:
            return None
        raise ApiError(
            f"{what}: {exc.status} {exc.reason}{_detail(exc)}", status=exc.status
        ) from None
    except HTTPError as exc:
        raise ApiError(f"{what}: cannot reach the API server: {exc}") from None
    return json.loads(response.data) if response.data else {}


def _detail(exc: Any) -> str:
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f": {message}" if message else ""


def _core(conn: Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.CoreV1Api(conn.client)


def _batch(conn: Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.BatchV1Api(conn.client)


def _custom(conn: Connection) -> Any:
    from kubernetes import client  # noqa: PLC0415

    return client.CustomObjectsApi(conn.client)


def read_pod(conn: Connection, *, namespace: str, name: str) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read pod {namespace}/{name}",
        lambda: core.read_namespaced_pod(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def read_node(conn: Connection, *, name: str) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read node {name}",
        lambda: core.read_node(name, _preload_content=False),
        missing_ok=True,
    )
    return found


def read_service(conn: Connection, *, namespace: str, name: str) -> dict[str, Any] | None:
    core = _core(conn)
    found: dict[str, Any] | None = _call(
        f"read service {namespace}/{name}",
        lambda: core.read_namespaced_service(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def create_job(conn: Connection, manifest: Mapping[str, Any]) -> None:
    batch = _batch(conn)
    namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    _call(
        f"create job {namespace}/{name}",
        lambda: batch.create_namespaced_job(namespace, dict(manifest), _preload_content=False),
    )


def read_job(conn: Connection, *, namespace: str, name: str) -> dict[str, Any] | None:
    batch = _batch(conn)
    found: dict[str, Any] | None = _call(
        f"read job {namespace}/{name}",
        lambda: batch.read_namespaced_job(name, namespace, _preload_content=False),
        missing_ok=True,
    )
    return found


def list_jobs(conn: Connection, *, namespace: str, selector: str) -> list[dict[str, Any]]:
    batch = _batch(conn)
    listed = _call(
        f"list jobs in {namespace} matching {selector!r}",
        lambda: batch.list_namespaced_job(
            namespace, label_selector=selector, _preload_content=False
        ),
    )
    return list(listed.get("items") or [])


def list_pods(conn: Connection, *, namespace: str, selector: str) -> list[dict[str, Any]]:
    core = _core(conn)
    listed = _call(
        f"list pods in {namespace} matching {selector!r}",
        lambda: core.list_namespaced_pod(
            namespace, label_selector=selector, _preload_content=False
        ),
    )
    return list(listed.get("items") or [])


def refused(conn: Connection, *, namespace: str, job: str) -> str | None:
    """Why the Job's pod was refused (its newest ``FailedCreate`` Event), or None."""
    core = _core(conn)
    selector = f"involvedObject.kind=Job,involvedObject.name={job},reason=FailedCreate"
    listed = _call(
        f"list events of job {namespace}/{job}",
        lambda: core.list_namespaced_event(
            namespace, field_selector=selector, _preload_content=False
        ),
    )
    items = listed.get("items") or []
    if not items:
        return None
    newest = max(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return str(newest.get("message") or "") or None


def read_log(conn: Connection, *, namespace: str, pod: str, container: str) -> str | None:
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


def delete_job_and_pods(conn: Connection, *, namespace: str, name: str, selector: str) -> None:
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


def list_checks(conn: Connection, *, namespace: str | None) -> list[dict[str, Any]]:
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
    except ApiError as error:
        if error.status == 404:
            raise ApiError(
                f"the {model.KIND} CRD ({model.PLURAL}.{model.GROUP}) is not installed:"
                " install the chart, or `nethealth crd | kubectl apply -f -`",
                status=404,
            ) from None
        raise
    return list(listed.get("items") or [])
