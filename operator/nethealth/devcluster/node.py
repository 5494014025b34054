"""Bringing a whole cluster up on this machine, and down again.

``up`` first removes whatever a previous run left (a crashed test session, a
``cluster up`` never followed by ``down``), then builds the fabric (one
network namespace per node on a bridge), writes certificates and configs,
starts etcd, the apiserver and every node's containerd together, imports the
local images into every node while the apiserver boots, starts the
controller-manager, scheduler and every node's kubelet and kube-proxy once it
serves, the network-policy controllers once the nodes are registered, and CoreDNS
once every node has its image. It returns when every Node is Ready, the
``default`` ServiceAccount exists, every kube-proxy has programmed the
Services and the DNS Deployment is available. A start that fails tears down
what it started and names the component, with the tail of its log.

The nodes start in parallel: each wait covers all of them at once.

The run directory's lock is held for the whole of ``up`` and ``down`` and, in
``running``, for the whole life of the cluster, so two test sessions never tear
down each other's cluster.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import fcntl
import ipaddress
import json
import pathlib
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from nethealth.devcluster import (
    addons,
    apply,
    cgroups,
    cleanup,
    cni,
    components,
    config,
    errors,
    fabric,
    layout,
    lock,
    nodestate,
    pki,
    processes,
    readiness,
    tools,
)

START_TIMEOUT_SECONDS = 120.0
LOG_TAIL_LINES = 25


class Archive(Protocol):
    """An image tarball to import (``images.ImageArchive`` has this shape)."""

    @property
    def ref(self) -> str: ...

    @property
    def path(self) -> pathlib.Path: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeInfo:
    """One node of a running cluster."""

    name: str
    ip: ipaddress.IPv4Address
    pod_cidr: ipaddress.IPv4Network
    netns: pathlib.Path


@dataclasses.dataclass(frozen=True, kw_only=True)
class Node:
    """A running cluster, as a client needs it; ``node_name``/``node_ip`` are the first node's."""

    run_dir: pathlib.Path
    kubeconfig: pathlib.Path
    node_name: str
    node_ip: ipaddress.IPv4Address
    api_url: str
    nodes: tuple[NodeInfo, ...] = ()
    # Seconds from the start of ``up`` to each milestone, for reports.
    milestones: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes) or (self.node_name,)


def log_tail(path: pathlib.Path, *, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {path} ---\n{tail}"


def read_state(run: layout.RunLayout) -> nodestate.NodeState | None:
    """The record of the cluster last started in ``run``, if any."""
    return nodestate.read(run)


def _prepare_run_dir(run: layout.RunLayout) -> None:
    if run.root.exists() and not run.marker.exists() and any(run.root.iterdir()):
        raise errors.ClusterError(
            f"{run.root} exists, is not empty and is not a dev cluster's run directory; "
            "choose another --run-dir"
        )
    for directory in (run.root, run.pids, run.logs, run.config):
        directory.mkdir(parents=True, exist_ok=True)
    run.marker.touch()


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _kubeconfig(
    run: layout.RunLayout, path: pathlib.Path, pair: pki.Pair, user: str
) -> pathlib.Path:
    certs_ca = run.pki / "ca.crt"
    return _write(
        path,
        config.kubeconfig(server=components.api_server_url(), ca=certs_ca, client=pair, user=user),
    )


def _control_plane_inputs(
    *, run: layout.RunLayout, certs: pki.Pki, found: tools.Tools, kubenode: pathlib.Path
) -> components.Inputs:
    clients = {
        "kube-controller-manager": certs.controller_manager,
        "kube-scheduler": certs.scheduler,
        "kube-proxy": certs.proxy,
        "kube-router-netpol": certs.netpol,
    }
    kubeconfigs = {
        name: _kubeconfig(run, run.config / f"{name}.kubeconfig", pair, name)
        for name, pair in clients.items()
    }
    _write(
        run.admin_kubeconfig,
        config.kubeconfig(
            server=components.api_server_url(),
            ca=certs.ca.cert,
            client=certs.admin,
            user="nethealth-admin",
            embed=True,
        ),
    )
    run.admin_kubeconfig.chmod(0o600)
    return components.Inputs(
        run=run, certs=certs, kubenode=kubenode, etcd=found.etcd, kubeconfigs=kubeconfigs
    )


def _node_inputs(
    *,
    settings: config.NodeSettings,
    certs: pki.Pki,
    shared: components.Inputs,
    found: tools.Tools,
) -> components.NodeInputs:
    files = settings.files
    for directory in (files.root, files.logs, files.pids, files.cni_config_dir):
        directory.mkdir(parents=True, exist_ok=True)
    kubelet_kubeconfig = _kubeconfig(
        shared.run,
        files.config / "kubelet.kubeconfig",
        certs.nodes[settings.node_name].client,
        f"system:node:{settings.node_name}",
    )
    _write(files.cni_config_dir / f"10-{layout.CNI_NETWORK}.conflist", config.cni_network(settings))
    return components.NodeInputs(
        settings=settings,
        kubenode=shared.kubenode,
        containerd=found.containerd,
        kubeconfigs={
            "kubelet": kubelet_kubeconfig,
            "kube-proxy": shared.kubeconfigs["kube-proxy"],
            "kube-router-netpol": shared.kubeconfigs["kube-router-netpol"],
        },
        kubelet_config=_write(
            files.config / "kubelet.json", config.kubelet(settings=settings, certs=certs)
        ),
        proxy_config=_write(
            files.config / "kube-proxy.json",
            config.kube_proxy(settings=settings, kubeconfig=shared.kubeconfigs["kube-proxy"]),
        ),
        containerd_config=_write(files.config / "containerd.toml", config.containerd(settings)),
    )


def import_images(*, ctr: pathlib.Path, node: layout.NodeLayout, images: Sequence[Archive]) -> None:
    """Import the image archives into one node's containerd."""
    for image in images:
        result = subprocess.run(
            [
                str(ctr),
                f"--address={node.containerd_socket}",
                "--namespace=k8s.io",
                "images",
                "import",
                str(image.path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise errors.ClusterError(
                f"importing {image.ref} into {node.name} from {image.path} failed: "
                f"{result.stderr.strip()}"
            )


def import_everywhere(*, run_dir: pathlib.Path, images: Sequence[Archive]) -> None:
    """Import into every node of the cluster in ``run_dir`` the archives it lacks.

    What each node got is recorded beside it (the archive's path names a cache entry
    keyed by its contents), so the parallel test workers that all call this at start
    import an image once, not once each; a lock file keeps them in turn.
    """
    run = layout.RunLayout(root=run_dir)
    ctr = tools.find().ctr
    nodes = [n for n in run.node_layouts() if n.containerd_socket.is_socket()]
    with (run.root / "images.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        wanted = {str(image.path): image for image in images}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            futures = [pool.submit(_import_missing, ctr=ctr, node=n, images=wanted) for n in nodes]
            for future in futures:
                future.result()


def _import_missing(
    *, ctr: pathlib.Path, node: layout.NodeLayout, images: dict[str, Archive]
) -> None:
    record = node.root / "images.json"
    try:
        done: list[str] = json.loads(record.read_text())
    except (FileNotFoundError, ValueError):
        done = []
    missing = [image for path, image in images.items() if path not in done]
    import_images(ctr=ctr, node=node, images=missing)
    record.write_text(json.dumps(sorted({*done, *images})))


class _Starter:
    """Starts components, remembers them, and explains a failure with their logs."""

    def __init__(self, *, run: layout.RunLayout, began: float) -> None:
        self.run = run
        self.began = began
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, pathlib.Path] = {}
        self.milestones: dict[str, float] = {}

    def start(
        self, component: components.Component, *, node: layout.NodeLayout | None = None
    ) -> None:
        key = f"{node.name}/{component.name}" if node else component.name
        log = node.log_of(component.name) if node else self.run.log_of(component.name)
        pid_file = (
            node.pid_file_of(component.name) if node else self.run.pid_file_of(component.name)
        )
        self.started[key] = processes.spawn(argv=component.argv, log=log, pid_file=pid_file)
        self.logs[key] = log

    def mark(self, milestone: str) -> None:
        self.milestones[milestone] = round(time.monotonic() - self.began, 2)

    def wait(self, what: str, check: Callable[[], bool], *, blame: Sequence[str]) -> None:
        try:
            readiness.wait_for(what, check, timeout=START_TIMEOUT_SECONDS, watched=self.started)
        except readiness.NotReady as exc:
            exited = [n for n, p in self.started.items() if p.poll() is not None]
            culprits = exited or [b for b in blame if b in self.logs]
            tails = "\n".join(log_tail(self.logs[name]) for name in culprits)
            raise errors.ClusterError(f"{exc}\n{tails}") from exc
        self.mark(what)


def _settings(
    *, run: layout.RunLayout, plans: Sequence[layout.NodePlan], found: tools.Tools, pause_image: str
) -> list[config.NodeSettings]:
    return [
        config.NodeSettings(
            plan=plan,
            files=run.node(plan.name),
            pause_image=pause_image,
            cni_bin_dir=run.cni_bin_dir,
            runc=found.runc,
            resolv_conf=run.config / "node-resolv.conf",
        )
        for plan in plans
    ]


def _state(
    *,
    run: layout.RunLayout,
    plans: Sequence[layout.NodePlan],
    kubenode: pathlib.Path,
    ctr: pathlib.Path,
) -> nodestate.NodeState:
    return {
        "node_name": plans[0].name,
        "node_ip": str(plans[0].ip),
        "api_url": components.api_server_url(),
        "kubenode": str(kubenode),
        "ctr": str(ctr),
        "kubeconfig": str(run.admin_kubeconfig),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nodes": [
            {"name": p.name, "ip": str(p.ip), "pod_cidr": str(p.pod_cidr), "netns": str(p.netns)}
            for p in plans
        ],
    }


def _start(
    *,
    run: layout.RunLayout,
    kubenode: pathlib.Path,
    images: Sequence[Archive],
    pause_image: str,
    count: int,
) -> Node:
    began = time.monotonic()
    found = tools.find()
    plans = layout.node_plans(count)
    # Written before anything is made: a crash from here on still leaves what a
    # later teardown needs.
    nodestate.write(run, _state(run=run, plans=plans, kubenode=kubenode, ctr=found.ctr))
    starter = _Starter(run=run, began=began)
    fabric.create(plans)
    starter.mark("fabric")
    certs = pki.issue_all(
        directory=run.pki,
        control_plane_ip=layout.CONTROL_PLANE_IP,
        nodes=[pki.NodeIdentity(name=p.name, ip=p.ip) for p in plans],
        api_service_ip=layout.api_service_ip(),
        cluster_domain=layout.CLUSTER_DOMAIN,
    )
    shared = _control_plane_inputs(run=run, certs=certs, found=found, kubenode=kubenode)
    _write(run.config / "node-resolv.conf", config.node_resolv_conf())
    cni.install(
        bin_dir=run.cni_bin_dir,
        delegates=[found.cni_bin_dir / name for name in tools.CNI_PLUGINS],
    )
    nodes = [
        _node_inputs(settings=s, certs=certs, shared=shared, found=found)
        for s in _settings(run=run, plans=plans, found=found, pause_image=pause_image)
    ]
    for plan in plans:
        cgroups.prepare(plan.cgroup_root)
    context = readiness.client_context(certs)
    # The apiserver retries etcd until it answers: no need to wait in between.
    starter.start(components.etcd(shared))
    starter.start(components.apiserver(shared))
    for node in nodes:
        starter.start(components.containerd(node), node=node.files)
    starter.wait(
        "containerd sockets",
        lambda: all(n.files.containerd_socket.is_socket() for n in nodes),
        blame=[f"{n.files.name}/containerd" for n in nodes],
    )
    # Importing takes seconds (the Python image most): it runs while the
    # control plane boots, and ``up`` returns only once it is done.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        wanted = {str(image.path): image for image in images}
        imported = [
            pool.submit(_import_missing, ctr=found.ctr, node=n.files, images=wanted) for n in nodes
        ]
        _start_kubernetes(starter=starter, shared=shared, nodes=nodes, context=context)
        for future in imported:
            future.result()
    starter.mark("images imported")
    _start_dns(starter=starter, context=context)
    return Node(
        run_dir=run.root,
        kubeconfig=run.admin_kubeconfig,
        node_name=plans[0].name,
        node_ip=plans[0].ip,
        api_url=components.api_server_url(),
        nodes=tuple(
            NodeInfo(name=p.name, ip=p.ip, pod_cidr=p.pod_cidr, netns=p.netns) for p in plans
        ),
        milestones=starter.milestones,
    )


def _start_kubernetes(
    *,
    starter: _Starter,
    shared: components.Inputs,
    nodes: Sequence[components.NodeInputs],
    context: ssl.SSLContext,
) -> None:
    api = components.api_server_url()
    starter.wait(
        "apiserver /readyz",
        lambda: readiness.healthy(f"{api}/readyz", context=context),
        blame=["kube-apiserver"],
    )
    apply.create_all(addons.netpol_rbac() + addons.dns_rbac(), api=api, context=context)
    starter.start(components.controller_manager(shared))
    starter.start(components.scheduler(shared))
    for node in nodes:
        starter.start(components.kubelet(node), node=node.files)
        starter.start(components.kube_proxy(node), node=node.files)
    names = [n.settings.node_name for n in nodes]
    starter.wait(
        "nodes Ready",
        lambda: all(readiness.node_is_ready(api=api, context=context, node_name=n) for n in names),
        blame=[f"{n}/kubelet" for n in names],
    )
    # kube-router's controller reads its Node once, at start: only now is it there.
    for node in nodes:
        starter.start(components.netpol(node), node=node.files)
    starter.wait(
        "default ServiceAccount",
        lambda: readiness.service_account_exists(api=api, context=context, namespace="default"),
        blame=["kube-controller-manager"],
    )
    proxies = [components.kube_proxy(n).health_url or "" for n in nodes]
    starter.wait(
        "kube-proxies synced",
        lambda: all(readiness.healthy(url) for url in proxies),
        blame=[f"{n}/kube-proxy" for n in names],
    )


def _start_dns(*, starter: _Starter, context: ssl.SSLContext) -> None:
    api = components.api_server_url()
    apply.create_all([addons.dns_service(), *addons.dns_workload()], api=api, context=context)
    starter.wait(
        "DNS available",
        lambda: readiness.deployment_is_available(
            api=api, context=context, namespace=addons.DNS_NAMESPACE, name=addons.DNS_NAME
        ),
        blame=[],
    )


def up(
    *,
    run_dir: pathlib.Path,
    kubenode: pathlib.Path,
    images: Sequence[Archive],
    pause_image: str,
    nodes: int = layout.DEFAULT_NODES,
) -> Node:
    """Start a fresh cluster (removing any leftover first) and leave it running."""
    run = layout.RunLayout(root=run_dir)
    with lock.held(run):
        return _up_locked(
            run=run, kubenode=kubenode, images=images, pause_image=pause_image, count=nodes
        )


def _up_locked(
    *,
    run: layout.RunLayout,
    kubenode: pathlib.Path,
    images: Sequence[Archive],
    pause_image: str,
    count: int,
) -> Node:
    layout.node_plans(count)  # a bad count fails before anything is touched
    _prepare_run_dir(run)
    cleanup.remove_all(run, empty_run_dir=True)
    remaining = cleanup.leftovers(run.root)
    if remaining:
        raise errors.ClusterError(
            "could not remove what a previous run left:\n  " + "\n  ".join(remaining)
        )
    _prepare_run_dir(run)
    for old_log in run.logs.rglob("*.log"):
        old_log.unlink()
    try:
        return _start(
            run=run, kubenode=kubenode, images=images, pause_image=pause_image, count=count
        )
    except BaseException:
        cleanup.remove_all(run, empty_run_dir=False)
        raise


def down(*, run_dir: pathlib.Path) -> cleanup.TeardownReport:
    """Stop the cluster and remove everything it left, but its logs."""
    run = layout.RunLayout(root=run_dir)
    with lock.held(run):
        return cleanup.remove_all(run, empty_run_dir=True)


@contextlib.contextmanager
def running(
    *,
    run_dir: pathlib.Path,
    kubenode: pathlib.Path,
    images: Sequence[Archive],
    pause_image: str,
    wait: float = 0.0,
    nodes: int = layout.DEFAULT_NODES,
) -> Iterator[Node]:
    """A cluster for the duration of the block, torn down on any exit (Ctrl-C too).

    ``wait`` is how long to wait for another harness (a concurrent test session
    on the same machine) to release the cluster before failing with ``Busy``.
    """
    run = layout.RunLayout(root=run_dir)
    with lock.held(run, wait=wait):
        started = _up_locked(
            run=run, kubenode=kubenode, images=images, pause_image=pause_image, count=nodes
        )
        try:
            yield started
        finally:
            cleanup.remove_all(run, empty_run_dir=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentStatus:
    name: str  # ``etcd``, or ``NODE/kubelet`` for a node's component
    pid: int | None
    alive: bool
    rss_kib: int | None
    # Proportional: pages shared between processes (the one kubenode binary that
    # every Kubernetes component maps) counted once in the sum, not once per process.
    pss_kib: int | None = None


def _status_of(name: str, pid_file: pathlib.Path) -> ComponentStatus:
    recorded = processes.read_pid_file(pid_file)
    alive = recorded is not None and processes.is_alive(recorded)
    return ComponentStatus(
        name=name,
        pid=recorded.pid if recorded else None,
        alive=alive,
        rss_kib=_rss_kib(recorded.pid) if recorded and alive else None,
        pss_kib=pss_kib(recorded.pid) if recorded and alive else None,
    )


def component_status(run_dir: pathlib.Path) -> list[ComponentStatus]:
    """Each component's pid, liveness and resident memory, from its pid file."""
    run = layout.RunLayout(root=run_dir)
    statuses = [
        _status_of(name, run.pid_file_of(name)) for name in cleanup.CONTROL_PLANE_COMPONENTS
    ]
    state = nodestate.read(run)
    for record in state["nodes"] if state else []:
        files = run.node(record["name"])
        statuses += [
            _status_of(f"{files.name}/{name}", files.pid_file_of(name))
            for name in cleanup.NODE_COMPONENTS
        ]
    return statuses


def pod_processes_pss_kib() -> int:
    """Proportional memory of every process in the cluster's pods and of their shims."""
    from nethealth.devcluster import teardown  # noqa: PLC0415 - only for this figure

    pids = teardown.pids_in_kubepods()
    shims = {
        r.pid
        for r in processes.find_mentioning(
            needle="-namespace", executables=("containerd-shim-runc-v2",)
        )
    }
    return sum(pss_kib(pid) or 0 for pid in pids | shims)


def pss_kib(pid: int) -> int | None:
    """The process's proportional set size, from ``smaps_rollup``."""
    with contextlib.suppress(OSError):
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


def _rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
