"""Creating the cluster's own objects with plain HTTPS, before anything else runs.

The harness keeps the Kubernetes client out of ``cluster up`` (it starts before
anything is ready and the CLI keeps heavy imports out), and it only ever creates
the few kinds ``addons`` defines: a POST per object to its collection, where an
object that already exists (a retried start) is fine.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from nethealth.devcluster import errors

# (apiVersion, kind) -> (collection path prefix, plural, namespaced)
_KINDS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("v1", "ServiceAccount"): ("/api/v1", "serviceaccounts", True),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps", True),
    ("v1", "Service"): ("/api/v1", "services", True),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterroles",
        False,
    ),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        False,
    ),
}
CONFLICT = 409


def collection_path(manifest: dict[str, Any]) -> str:
    """The URL path an object of this kind is POSTed to."""
    key = (str(manifest["apiVersion"]), str(manifest["kind"]))
    if key not in _KINDS:
        raise errors.ClusterError(f"the harness cannot create {key[1]} ({key[0]}) objects")
    prefix, plural, namespaced = _KINDS[key]
    if namespaced:
        return f"{prefix}/namespaces/{manifest['metadata']['namespace']}/{plural}"
    return f"{prefix}/{plural}"


def create_all(manifests: Iterable[dict[str, Any]], *, api: str, context: ssl.SSLContext) -> None:
    """Create each object, in order; one that exists already is left as it is."""
    for manifest in manifests:
        request = urllib.request.Request(
            api + collection_path(manifest),
            data=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            exc.close()
            if exc.code != CONFLICT:
                name = f"{manifest['kind']} {manifest['metadata']['name']}"
                raise errors.ClusterError(f"creating {name}: HTTP {exc.code}: {body}") from exc
