"""The dev cluster's stand-in applications: busybox processes that only sleep.

Tests, benchmarks and the demo need pods to measure, and the probe finds a pod's network
namespace through its longest-running process: one ``sleep`` that lives as long as the
pod does is exactly that. The image is built locally (``images.WORKLOAD_IMAGE``) and
never pulled.
"""

from __future__ import annotations

from typing import Any, Final

from nethealth.devcluster import images

SLEEP: Final = ("sleep", "86400")


def pod_spec() -> dict[str, Any]:
    """One container that sleeps; stops at once, has no API token."""
    return {
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "app",
                "image": images.WORKLOAD_IMAGE,
                "imagePullPolicy": "Never",
                "command": list(SLEEP),
            }
        ],
    }


def deployment(
    name: str, *, namespace: str | None = None, kind: str = "Deployment"
) -> dict[str, Any]:
    """A one-replica Deployment (or StatefulSet, DaemonSet) labelled ``app: name``.

    A Deployment rolls out ``Recreate``: a hostNetwork patch must never have two of its
    pods on the node at once (the surge pod would need the same host ports)."""
    labels = {"app": name}
    # A copy in each place, as YAML gives: a change of the object's labels must never
    # reach its (immutable) selector.
    metadata: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec()},
    }
    if kind == "Deployment":
        spec["replicas"] = 1
        spec["strategy"] = {"type": "Recreate"}
    elif kind == "StatefulSet":
        spec["replicas"] = 1
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": spec}
