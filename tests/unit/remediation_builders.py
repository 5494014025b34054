"""Builders for remediation tests: workloads, pod facts, a remediation spec, a plan."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import model_examples
from nethealth import model
from nethealth.probe import types
from nethealth.remediation import hostnetwork, planning

NOW = datetime.datetime(2026, 11, 26, 6, 0, tzinfo=datetime.UTC)
CHECK = "apps/web-check"
CHECK_UID = "uid-of-the-check"
Kind = hostnetwork.Kind
Outcome = planning.Outcome
Reason = model.Reason
PodState = model.PodState
ProbeClass = types.ProbeClass


def web_key(name: str = "web", kind: hostnetwork.Kind = Kind.DEPLOYMENT) -> hostnetwork.WorkloadKey:
    return hostnetwork.WorkloadKey(kind=kind, namespace="apps", name=name)


def workload(
    name: str = "web",
    *,
    kind: str = "Deployment",
    replicas: int | None = 1,
    ports: tuple[int, ...] = (8080,),
    host_network: bool | None = None,
    dns_policy: str | None = "ClusterFirst",
    strategy: dict[str, Any] | None = None,
    node_selector: dict[str, str] | None = None,
    anti_affinity: bool = False,
    annotations: dict[str, str] | None = None,
    managed_fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "containers": [
            {"name": "app", "ports": [{"containerPort": p, "protocol": "TCP"} for p in ports]}
        ]
    }
    if host_network is not None:
        pod_spec["hostNetwork"] = host_network
    if dns_policy is not None:
        pod_spec["dnsPolicy"] = dns_policy
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if anti_affinity:
        pod_spec["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}}
                ]
            }
        }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
    }
    if replicas is not None and kind != "DaemonSet":
        spec["replicas"] = replicas
    if strategy is not None:
        spec["updateStrategy" if kind == "DaemonSet" else "strategy"] = strategy
    meta: dict[str, Any] = {"name": name, "namespace": "apps", "uid": f"uid-{name}"}
    if annotations:
        meta["annotations"] = annotations
    if managed_fields:
        meta["managedFields"] = managed_fields
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


def facts(
    name: str = "web-1",
    *,
    owner: hostnetwork.WorkloadKey | hostnetwork.NotRemediable | None = None,
    state: PodState = PodState.DEGRADED,
    klass: ProbeClass = ProbeClass.POD_NAMESPACE,
    hint: str | None = "PolicyRuleUnreachable: pref 100 ipproto tcp dport 80 unreachable",
) -> planning.PodFacts:
    return planning.PodFacts(
        key=f"apps/{name}",
        node="node-a",
        state=state,
        klass=klass,
        hint=hint,
        owner=owner if owner is not None else web_key(),
    )


def spec(**fields: Any) -> model.Remediation:
    """The remediation settings the e2e tests plan with too, with ``fields`` changed."""
    return dataclasses.replace(model_examples.REMEDIATION, **fields)


def other_pod(
    name: str, *, ports: tuple[int, ...], host_network: bool = False, labels: dict[str, str]
) -> dict[str, Any]:
    key = "containerPort" if host_network else "hostPort"
    return {
        "metadata": {"name": name, "namespace": "apps", "labels": labels},
        "spec": {
            "hostNetwork": host_network,
            "containers": [{"name": "c", "ports": [{key: p, "containerPort": p} for p in ports]}],
        },
    }


def plan_for(
    *,
    pods: list[planning.PodFacts] | None = None,
    workloads: dict[hostnetwork.WorkloadKey, dict[str, Any]] | None = None,
    rem: model.Remediation | None = None,
    labels: dict[str, str] | None = None,
    node_pods: list[dict[str, Any]] | None = None,
    history: dict[hostnetwork.WorkloadKey, datetime.datetime] | None = None,
    limits: planning.Limits | None = None,
) -> planning.Plan:
    pods = pods if pods is not None else [facts()]
    return planning.plan(
        check=CHECK,
        check_uid=CHECK_UID,
        remediation=rem or spec(),
        pods={p.key: p for p in pods},
        workloads=workloads if workloads is not None else {web_key(): workload()},
        namespace_labels={"apps": labels or {}},
        node_pods={"node-a": node_pods or []},
        history=history or {},
        now=NOW,
        limits=limits or planning.Limits(),
    )
