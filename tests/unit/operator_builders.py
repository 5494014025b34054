"""Hand-built Kubernetes JSON for the operator's pure tests: pods, nodes, probe Jobs."""

from __future__ import annotations

import datetime
from typing import Any

import probe_builders

from nethealth import model
from nethealth.probe import report, types


def pod(
    name: str,
    *,
    namespace: str = "apps",
    node: str = "node-a",
    phase: str = "Running",
    ip: str | None = "198.51.100.10",
    host_network: bool = False,
    terminating: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "labels": labels or {"app": "web"},
    }
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    return {
        "metadata": meta,
        "spec": {"nodeName": node, "hostNetwork": host_network},
        "status": status,
    }


def node(
    name: str, *, ready: bool = True, cordoned: bool = False, hostname: str | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": hostname or name}},
        "spec": {"unschedulable": True} if cordoned else {},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def check(**spec: Any) -> model.NetHealthCheck:
    body_spec = {
        "selector": {"matchLabels": {"app": "web"}},
        "targets": [{"name": "api", "host": "203.0.113.1", "port": 443}],
        **spec,
    }
    return model.parse(
        {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "metadata": {"name": "web", "namespace": "apps", "uid": "check-uid", "generation": 4},
            "spec": body_spec,
        }
    )


def probe_document(
    picture: str, *, klass: types.ProbeClass, hints: tuple[types.Hint, ...] = ()
) -> dict[str, Any]:
    """A real probe result document whose target namespace saw ``picture`` ('.' ok, 'x')."""
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    measurement = types.Measurement(
        role=types.Role.TARGET, netns="pid:42", attempts=probe_builders.attempts(picture)
    )
    return report.build(
        verdict=types.Verdict(klass=klass, reason="as pictured", hints=hints),
        measurements=(measurement,),
        evidence=None,
        kernel=None,
        targets=(),
        started=moment,
        finished=moment,
        probe_info={},
    )
