"""A check's world for the loop tests: one node, a Deployment ``web`` with one pod in
``apps``, a check selecting it, an in-memory cluster and a fake clock; and the probe's
answers a test chooses for the pods in the pod network and for those on hostNetwork."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import fakekube
from operator_builders import probe_document

from nethealth import model, settings
from nethealth.detection import scheduling
from nethealth.loop import checkloop
from nethealth.probe import types
from nethealth.remediation import globalbudget, hostnetwork

HEALTHY = probe_document("." * 60, klass=types.ProbeClass.HEALTHY)
FAILING = probe_document("xxxxxx....." * 6, klass=types.ProbeClass.POD_NAMESPACE)
# The kernel's broadcast-route-cache bug at work, as the probe names it (per-CPU evidence).
KERNEL_BUG = probe_document(
    "xxxxxx....." * 6,
    klass=types.ProbeClass.POD_NAMESPACE,
    hints=(
        types.Hint(
            code="KernelBroadcastRouteCache",
            evidence="failures on CPU 0, none on CPU 1: 30/30 connects on CPU 0 failed with"
            " ENETUNREACH, 0/30 on CPU 1",
            advice="upgrade the kernel",
        ),
    ),
)
# Degraded after one failing run, healthy again after one passing run: the loop's sequence,
# not the decision's statistics, is what these tests are about.
FAST = {"threshold": {"consecutiveRuns": 1, "recoveryRuns": 1}}
AUTO = {**FAST, "remediation": {"mode": "Auto"}}
SETTINGS = settings.from_env({"NETHEALTH_METRICS_PORT": "0"})


@dataclasses.dataclass
class Network:
    """What the probe measures: in the pod's own namespace, and on the node's network."""

    pod_network: Mapping[str, Any] | None = dataclasses.field(default_factory=lambda: HEALTHY)
    host_network: Mapping[str, Any] | None = dataclasses.field(default_factory=lambda: HEALTHY)
    # A pod whose namespace has the cure's route (``FakeCluster.routes``) measures this.
    with_route: Mapping[str, Any] | None = None
    routes: set[str] = dataclasses.field(default_factory=set)

    def __call__(self, pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
        on_host = (pod.get("spec") or {}).get("hostNetwork") is True
        if on_host:
            return self.host_network
        if self.with_route is not None and pod["metadata"]["uid"] in self.routes:
            return self.with_route
        return self.pod_network


@dataclasses.dataclass
class World:
    clock: fakekube.FakeClock
    cluster: fakekube.FakeCluster
    network: Network
    workload: hostnetwork.WorkloadKey
    check: str  # namespace/name
    jobs: scheduling.Budget
    remediation_budget: globalbudget.GlobalBudget

    def loop(self, check: str | None = None) -> checkloop.CheckLoop:
        """A check's loop as a freshly started operator has it (memory from status)."""
        body = self.cluster.body(check or self.check)
        loop = checkloop.CheckLoop(
            api=self.cluster,
            clock=self.clock,
            body=body,
            settings=SETTINGS,
            budget=self.jobs,
            remediation_budget=self.remediation_budget,
        )
        loop.memory = loop._restore(body())
        return loop

    async def run(self, loop: checkloop.CheckLoop) -> None:
        """One run of the check as it is now, then the interval passes."""
        await loop.run(model.parse(loop._body()))
        self.clock.advance(minutes=5)

    def status(self, check: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self.cluster.checks[check or self.check].get("status") or {}
        return found

    def entries(self, check: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.status(check).get("remediation") or []
        return found

    def states(self, check: str | None = None) -> dict[str, str]:
        return {e["name"]: e["state"] for e in self.entries(check)}

    def on_host_network(self) -> bool:
        return self.cluster.template(self.workload).get("hostNetwork") is True


def world(*, max_remediated_pods: int = 10, **spec: Any) -> World:
    clock = fakekube.FakeClock()
    network = Network()
    cluster = fakekube.FakeCluster(clock, network=network)
    network.routes = cluster.routes
    cluster.add_node()
    workload = cluster.add_deployment("web", labels={"app": "web"})
    check = cluster.add_check("web", **spec)
    return World(
        clock=clock,
        cluster=cluster,
        network=network,
        workload=workload,
        check=check,
        jobs=scheduling.Budget(SETTINGS.max_concurrent_jobs),
        remediation_budget=globalbudget.GlobalBudget(max_remediated_pods),
    )
