"""The scale benchmark's objects: its flags, which check selects which pods on which node,
creating them in parallel, watching the checks' status writes, and deleting everything.

The layout is deterministic: check ``i`` lives in namespace ``i mod S`` and selects the
label ``app=c<i>``; its pods sit on ``--nodes-per-check`` consecutive fake nodes starting
at node ``i * nodes-per-check mod K``, round robin.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import pathlib
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import benchcluster
import fakecluster
import kubernetes

from nethealth import model

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import operator_harness
import remediation_helpers

NAMESPACE_GONE_SECONDS = 300.0
PROGRESS_EVERY = 1000


def duration(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 30s or 5m")
    return float(found[1]) * (60 if found[2] == "m" else 1)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Operator scale on the real API server.")
    parser.add_argument("--checks", type=_positive, default=1000, help="NetHealthChecks (1000)")
    parser.add_argument("--pods", type=_positive, default=10000, help="selected pods (10000)")
    parser.add_argument("--nodes", type=_positive, default=100, help="fake nodes (100)")
    parser.add_argument("--namespaces", type=_positive, default=10, help="namespaces (10)")
    parser.add_argument(
        "--nodes-per-check", type=_positive, default=1, help="nodes a check's pods sit on (1)"
    )
    parser.add_argument("--interval", type=duration, default=300.0, help="checks' interval (5m)")
    parser.add_argument(
        "--window", type=duration, default=None, help="operator's measured window (one interval)"
    )
    parser.add_argument(
        "--baseline-window",
        type=duration,
        default=None,
        help="empty kopf operator's window (min(window, 2m)); 0 skips the baseline",
    )
    parser.add_argument(
        "--report-timeout",
        type=duration,
        default=900.0,
        help="how long to wait for every check to report once (15m)",
    )
    parser.add_argument("--workers", type=_positive, default=8, help="parallel API clients (8)")
    parser.add_argument("--kubeconfig", default=None, help="a running cluster")
    parser.add_argument(
        "--batch-probe-jobs",
        action="store_true",
        help="run the operator with NETHEALTH_BATCH_PROBE_JOBS=true (shared probe Jobs)",
    )
    parser.add_argument(
        "--cleanup-leftovers",
        action="store_true",
        help="delete every object a killed run of this benchmark left, and exit",
    )
    args = parser.parse_args(argv)
    args.kubeconfig = args.kubeconfig or benchcluster.default_kubeconfig()
    if args.interval < 30:
        parser.error("--interval: the CRD allows 30s or more")
    if args.pods < args.checks:
        parser.error(f"--pods ({args.pods}) must be at least --checks ({args.checks})")
    if args.nodes_per_check > args.nodes:
        parser.error(f"--nodes-per-check ({args.nodes_per_check}) exceeds --nodes ({args.nodes})")
    if args.namespaces > args.checks:
        parser.error(f"--namespaces ({args.namespaces}) exceeds --checks ({args.checks})")
    if args.window is None:
        args.window = args.interval
    if args.baseline_window is None:
        args.baseline_window = min(args.window, 120.0)
    return args


# --- the layout -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodPlan:
    namespace: str
    name: str
    app: str
    node: str
    ip: str
    host_ip: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckPlan:
    namespace: str
    name: str  # also its pods' ``app`` label


@dataclasses.dataclass(frozen=True, kw_only=True)
class Layout:
    run: str
    interval: float
    namespaces: tuple[str, ...]
    nodes: tuple[str, ...]
    checks: tuple[CheckPlan, ...]
    pods: tuple[PodPlan, ...]

    @property
    def pod_count(self) -> int:
        return len(self.pods)


def layout(args: argparse.Namespace, *, run: str) -> Layout:
    namespaces = tuple(f"{run}-{s}" for s in range(args.namespaces))
    nodes = tuple(f"{run}-node-{k}" for k in range(args.nodes))
    node_ip = {name: str(fakecluster.POD_NETWORK[k + 1]) for k, name in enumerate(nodes)}
    checks, pods = [], []
    for i in range(args.checks):
        check = CheckPlan(namespace=namespaces[i % args.namespaces], name=f"c{i:05d}")
        checks.append(check)
        count = args.pods // args.checks + (1 if i < args.pods % args.checks else 0)
        first = i * args.nodes_per_check
        for r in range(count):
            node = nodes[(first + r % args.nodes_per_check) % args.nodes]
            pods.append(
                PodPlan(
                    namespace=check.namespace,
                    name=f"{check.name}-{r:03d}",
                    app=check.name,
                    node=node,
                    ip=str(fakecluster.POD_NETWORK[65536 + len(pods)]),
                    host_ip=node_ip[node],
                )
            )
    return Layout(
        run=run,
        interval=args.interval,
        namespaces=namespaces,
        nodes=nodes,
        checks=tuple(checks),
        pods=tuple(pods),
    )


def check_body(plan: CheckPlan, *, run: str, interval: float) -> dict[str, Any]:
    body = operator_harness.check_body(plan.name, app=plan.name)
    body["metadata"]["labels"] = {fakecluster.RUN_LABEL: run}
    body["spec"]["probe"]["interval"] = f"{interval:g}s"
    return body


# --- the API --------------------------------------------------------------------------


def client(kubeconfig: pathlib.Path, *, workers: int) -> Any:
    """An API client with a connection per worker thread."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(
        config_file=str(kubeconfig), client_configuration=configuration
    )
    configuration.connection_pool_maxsize = workers + 8
    return kubernetes.client.ApiClient(configuration)


def install_crd(api: Any) -> None:
    operator_harness.install_crd(api)


def _parallel(
    label: str, work: Callable[[Any], None], items: Sequence[Any], *, workers: int = 8
) -> None:
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, item) for item in items]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            future.result()
            if done % PROGRESS_EVERY == 0 or done == len(items):
                rate = done / max(time.monotonic() - started, 1e-3)
                print(f"  {label}: {done} of {len(items)} ({rate:.0f}/s)", flush=True)


def create(
    api: Any, *, layout: Layout, keeper: fakecluster.LeaseKeeper, counted: fakecluster.Counted
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    custom = kubernetes.client.CustomObjectsApi(api)
    for namespace in layout.namespaces:
        labels = {fakecluster.RUN_LABEL: layout.run}
        core.create_namespace({"metadata": {"name": namespace, "labels": labels}})
    _parallel(
        "fake nodes",
        lambda item: fakecluster.create_node(
            api, name=item[1], run=layout.run, index=item[0], counted=counted
        ),
        list(enumerate(layout.nodes)),
    )
    keeper.start()
    _parallel(
        "running pods",
        lambda pod: fakecluster.create_running_pod(
            api,
            namespace=pod.namespace,
            manifest=fakecluster.pod_manifest(
                name=pod.name, app=pod.app, node=pod.node, run=layout.run
            ),
            ip=pod.ip,
            host_ip=pod.host_ip,
            counted=counted,
        ),
        layout.pods,
    )
    _parallel(
        "checks",
        lambda plan: custom.create_namespaced_custom_object(
            model.GROUP,
            model.VERSION,
            plan.namespace,
            model.PLURAL,
            check_body(plan, run=layout.run, interval=layout.interval),
        ),
        layout.checks,
    )


class CheckWatcher:
    """Watches the run's checks: every status write (a MODIFIED event: the operator writes
    nothing else) and when each first reported a run (``status.lastRunTime``)."""

    def __init__(self, api: Any, *, run: str) -> None:
        self._custom = kubernetes.client.CustomObjectsApi(api)
        self._selector = f"{fakecluster.RUN_LABEL}={run}"
        self._lock = threading.Lock()
        self._writes: list[float] = []
        self._reported: dict[str, float] = {}
        self._last_run: dict[str, str] = {}  # check -> its status.lastRunTime
        self._runs: list[tuple[float, str]] = []  # (when seen, check): a new lastRunTime
        self._late: set[str] = set()  # checks whose OnSchedule is False now
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="check-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listed = self._custom.list_cluster_custom_object(
                        model.GROUP, model.VERSION, model.PLURAL, label_selector=self._selector
                    )
                    version = listed["metadata"]["resourceVersion"]
                    for obj in listed["items"]:
                        self._note(obj, write=False)
                stream = kubernetes.watch.Watch().stream(
                    self._custom.list_cluster_custom_object,
                    model.GROUP,
                    model.VERSION,
                    model.PLURAL,
                    label_selector=self._selector,
                    resource_version=version,
                    timeout_seconds=5,
                )
                for event in stream:
                    obj = event["object"]
                    version = obj["metadata"]["resourceVersion"]
                    self._note(obj, write=event["type"] == "MODIFIED")
                    if self._stop.is_set():
                        break
            except kubernetes.client.ApiException as exc:
                if exc.status == 410:
                    version = None
                else:
                    self._stop.wait(1)
            except Exception:  # a dropped connection: resume from `version`
                self._stop.wait(1)

    def _note(self, obj: dict[str, Any], *, write: bool) -> None:
        now = time.monotonic()
        key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        with self._lock:
            if write:
                self._writes.append(now)
            status = obj.get("status") or {}
            last_run = status.get("lastRunTime")
            if last_run and key not in self._reported:
                self._reported[key] = now
            if last_run and self._last_run.get(key) != last_run:
                if key in self._last_run:
                    self._runs.append((now, key))
                self._last_run[key] = last_run
            conditions = status.get("conditions") or []
            if any(
                c.get("type") == "OnSchedule" and c.get("status") == "False" for c in conditions
            ):
                self._late.add(key)
            else:
                self._late.discard(key)

    def reported(self) -> int:
        with self._lock:
            return len(self._reported)

    def runs_between(self, start: float, end: float) -> tuple[int, int]:
        """Runs finished (a new lastRunTime after the first), and the checks they were of."""
        with self._lock:
            runs = [key for t, key in self._runs if start <= t <= end]
        return len(runs), len(set(runs))

    def late(self) -> int:
        """Checks whose latest run started late (their OnSchedule condition)."""
        with self._lock:
            return len(self._late)

    def writes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(1 for t in self._writes if start <= t <= end)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


# --- cleanup --------------------------------------------------------------------------


def delete_leftovers(api: Any, *, run: str | None) -> None:
    """Deletes the run's objects (``run=None``: every run's) — checks, Jobs, pods (forced:
    no kubelet confirms), namespaces, Leases, fake nodes — and waits for the namespaces."""
    core = kubernetes.client.CoreV1Api(api)
    batch = kubernetes.client.BatchV1Api(api)
    custom = kubernetes.client.CustomObjectsApi(api)
    coordination = kubernetes.client.CoordinationV1Api(api)
    selector = fakecluster.RUN_LABEL if run is None else f"{fakecluster.RUN_LABEL}={run}"
    namespaces = [n.metadata.name for n in core.list_namespace(label_selector=selector).items]
    for namespace in namespaces:
        _quietly(
            lambda ns=namespace: custom.delete_collection_namespaced_custom_object(
                model.GROUP, model.VERSION, ns, model.PLURAL
            )
        )
        _quietly(
            lambda ns=namespace: batch.delete_collection_namespaced_job(
                ns, propagation_policy="Background"
            )
        )
        _quietly(lambda ns=namespace: core.delete_namespace(ns))
    deadline = time.monotonic() + NAMESPACE_GONE_SECONDS
    remaining = list(namespaces)
    while remaining and time.monotonic() < deadline:
        for namespace in remaining:
            # The operator is stopped: a finalizer it put on a check would hold the namespace.
            _quietly(lambda ns=namespace: remediation_helpers.release_checks(api, namespace=ns))
            # Pods on fake nodes never finish terminating by themselves.
            _quietly(
                lambda ns=namespace: core.delete_collection_namespaced_pod(
                    ns, grace_period_seconds=0
                )
            )
        time.sleep(2)
        remaining = [n for n in remaining if _exists(lambda n=n: core.read_namespace(n))]
    if remaining:
        print(f"warning: namespaces still exist: {', '.join(remaining)}", file=sys.stderr)
    _quietly(
        lambda: coordination.delete_collection_namespaced_lease(
            fakecluster.LEASE_NAMESPACE, label_selector=selector
        )
    )
    _quietly(lambda: core.delete_collection_node(label_selector=selector))


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            print(f"warning: cleanup step failed: {exc.status} {exc.reason}", file=sys.stderr)


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True
