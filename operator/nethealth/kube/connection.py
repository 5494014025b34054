"""Finding the cluster: the operator's way and kubectl's way, each to one ``Connection``.

The operator prefers its service account (in a pod) and falls back to the default
kubeconfig (run by hand, and in the e2e tests). The command line finds the kubeconfig the
way kubectl does: ``--kubeconfig``, else ``$KUBECONFIG`` (a list of files is merged), else
``~/.kube/config``, else the in-cluster service account; ``--context`` picks a context,
whose namespace is the default for ``-n``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Final

from nethealth.kube import errors

SERVICE_ACCOUNT_NAMESPACE: Final = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

ApiClient = Any  # kubernetes.client.ApiClient: the client ships no type hints


@dataclasses.dataclass(frozen=True, kw_only=True)
class Connection:
    client: ApiClient
    namespace: str  # the context's namespace: the default of -n


def for_operator() -> Connection:
    """In a pod, its service account; elsewhere the default kubeconfig."""
    from kubernetes import client, config  # noqa: PLC0415 - heavy, operator-only

    loader: Any = config  # partly typed; its loaders are not
    configuration = client.Configuration()
    try:
        loader.load_incluster_config(client_configuration=configuration)
        namespace = _service_account_namespace()
    except loader.ConfigException:
        loader.load_kube_config(client_configuration=configuration, persist_config=False)
        namespace = "default"
    return Connection(client=client.ApiClient(configuration), namespace=namespace)


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
            raise errors.KubeError(f"in-cluster configuration: {exc}") from None
        namespace = _service_account_namespace()
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
        raise errors.KubeError(f"kubeconfig {where}: {exc}") from None
    chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
    namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    return Connection(client=client.ApiClient(configuration), namespace=str(namespace))


def _service_account_namespace() -> str:
    path = pathlib.Path(SERVICE_ACCOUNT_NAMESPACE)
    return (path.read_text().strip() if path.exists() else "") or "default"


def _in_cluster_only() -> bool:
    """No kubeconfig anywhere, but a service account: we run in a pod."""
    if os.environ.get("KUBECONFIG"):
        return False
    if pathlib.Path("~/.kube/config").expanduser().exists():
        return False
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
