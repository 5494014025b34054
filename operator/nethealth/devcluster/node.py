"""Bringing a whole single-node cluster up on this machine, and down again.

``up`` first removes whatever a previous run left (a crashed test session, a
``cluster up`` never followed by ``down``), then writes certificates and
configs, starts etcd, containerd and the apiserver together, imports the local
images while the apiserver boots, starts the controller-manager, scheduler,
kubelet and kube-proxy once it serves, and returns when the Node is Ready, the
``default`` ServiceAccount exists and kube-proxy has programmed the
``kubernetes`` Service. A start that fails tears down what it started and
names the component, with the tail of its log.

The run directory's lock is held for the whole of ``up`` and ``down`` and, in
``running``, for the whole life of the node, so two test sessions never tear
down each other's node.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import ipaddress
import json
import pathlib
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from nethealth.devcluster import (
    cleanup,
    components,
    config,
    errors,
    layout,
    lock,
    nodestate,
    pki,
    processes,
    readiness,
    tools,
)

START_TIMEOUT_SECONDS = 90.0
LOG_TAIL_LINES = 25


class Archive(Protocol):
    """An image tarball to import (``images.ImageArchive`` has this shape)."""

    @property
    def ref(self) -> str: ...

    @property
    def path(self) -> pathlib.Path: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class Node:
    """A running node, as a client needs it."""

    run_dir: pathlib.Path
    kubeconfig: pathlib.Path
    node_name: str
    node_ip: ipaddress.IPv4Address
    api_url: str
    # Seconds from the start of ``up`` to each milestone, for reports.
    milestones: dict[str, float] = dataclasses.field(default_factory=dict)


def node_address() -> ipaddress.IPv4Address:
    """The IPv4 address of the interface holding the default route."""
    routes = json.loads(_ip("-4", "route", "show", "default"))
    if not routes:
        raise errors.ClusterError("no IPv4 default route: cannot pick the node's address")
    device = routes[0]["dev"]
    if "prefsrc" in routes[0]:
        return ipaddress.IPv4Address(routes[0]["prefsrc"])
    for link in json.loads(_ip("-4", "addr", "show", "dev", device)):
        for address in link.get("addr_info", []):
            if address.get("scope") == "global":
                return ipaddress.IPv4Address(address["local"])
    raise errors.ClusterError(f"the default route's device {device} has no global IPv4 address")


def _ip(*args: str) -> str:
    return subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout


def log_tail(path: pathlib.Path, *, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {path} ---\n{tail}"


def read_state(run: layout.RunLayout) -> nodestate.NodeState | None:
    """The record of the node last started in ``run``, if any."""
    return nodestate.read(run)


def _prepare_run_dir(run: layout.RunLayout) -> None:
    if run.root.exists() and not run.marker.exists() and any(run.root.iterdir()):
        raise errors.ClusterError(
            f"{run.root} exists, is not empty and is not a dev cluster's run directory; "
            "choose another --run-dir"
        )
    for directory in (run.root, run.pids, run.logs, run.config, run.cni_config_dir):
        directory.mkdir(parents=True, exist_ok=True)
    run.marker.touch()


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _write_configs(
    *,
    run: layout.RunLayout,
    settings: config.NodeSettings,
    certs: pki.Pki,
    found: tools.Tools,
    kubenode: pathlib.Path,
) -> components.Inputs:
    api = components.api_server_url(settings)
    clients = {
        "kube-controller-manager": certs.controller_manager,
        "kube-scheduler": certs.scheduler,
        "kubelet": certs.kubelet_client,
        "kube-proxy": certs.proxy,
    }
    kubeconfigs = {
        name: _write(
            run.config / f"{name}.kubeconfig",
            config.kubeconfig(server=api, ca=certs.ca.cert, client=pair, user=name),
        )
        for name, pair in clients.items()
    }
    _write(
        run.admin_kubeconfig,
        config.kubeconfig(
            server=api, ca=certs.ca.cert, client=certs.admin, user="nethealth-admin", embed=True
        ),
    )
    run.admin_kubeconfig.chmod(0o600)
    _write(run.cni_config_dir / f"10-{layout.CNI_NETWORK}.conflist", config.cni_network(run=run))
    return components.Inputs(
        run=run,
        settings=settings,
        certs=certs,
        kubenode=kubenode,
        etcd=found.etcd,
        containerd=found.containerd,
        kubeconfigs=kubeconfigs,
        kubelet_config=_write(
            run.config / "kubelet.json", config.kubelet(run=run, settings=settings, certs=certs)
        ),
        proxy_config=_write(
            run.config / "kube-proxy.json",
            config.kube_proxy(settings=settings, kubeconfig=kubeconfigs["kube-proxy"]),
        ),
        containerd_config=_write(
            run.config / "containerd.toml", config.containerd(run=run, settings=settings)
        ),
    )


def _import_images(*, ctr: pathlib.Path, run: layout.RunLayout, images: Sequence[Archive]) -> None:
    for image in images:
        result = subprocess.run(
            [
                str(ctr),
                f"--address={run.containerd_socket}",
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
                f"importing {image.ref} from {image.path} failed: {result.stderr.strip()}"
            )


class _Starter:
    """Starts components, remembers them, and explains a failure with their logs."""

    def __init__(self, *, run: layout.RunLayout, began: float) -> None:
        self.run = run
        self.began = began
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.milestones: dict[str, float] = {}

    def start(self, component: components.Component) -> None:
        self.started[component.name] = processes.spawn(
            argv=component.argv,
            log=self.run.log_of(component.name),
            pid_file=self.run.pid_file_of(component.name),
        )

    def mark(self, milestone: str) -> None:
        self.milestones[milestone] = round(time.monotonic() - self.began, 2)

    def wait(self, what: str, check: Callable[[], bool], *, blame: str) -> None:
        try:
            readiness.wait_for(what, check, timeout=START_TIMEOUT_SECONDS, watched=self.started)
        except readiness.NotReady as exc:
            exited = [n for n, p in self.started.items() if p.poll() is not None]
            culprits = exited or [blame]
            tails = "\n".join(log_tail(self.run.log_of(name)) for name in culprits)
            raise errors.ClusterError(f"{exc}\n{tails}") from exc
        self.mark(what)


def _start(
    *, run: layout.RunLayout, kubenode: pathlib.Path, images: Sequence[Archive], pause_image: str
) -> Node:
    began = time.monotonic()
    found = tools.find()
    node_ip = node_address()
    settings = config.NodeSettings(
        node_name=layout.NODE_NAME,
        node_ip=node_ip,
        pause_image=pause_image,
        cni_bin_dir=found.cni_bin_dir,
        runc=found.runc,
    )
    certs = pki.issue_all(
        directory=run.pki,
        node_name=settings.node_name,
        node_ip=node_ip,
        api_service_ip=layout.api_service_ip(),
        cluster_domain=layout.CLUSTER_DOMAIN,
    )
    inputs = _write_configs(run=run, settings=settings, certs=certs, found=found, kubenode=kubenode)
    api = components.api_server_url(settings)
    state: nodestate.NodeState = {
        "node_name": settings.node_name,
        "node_ip": str(node_ip),
        "api_url": api,
        "kubenode": str(kubenode),
        "ctr": str(found.ctr),
        "kubeconfig": str(run.admin_kubeconfig),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    # Written before anything starts: a crash from here on still leaves what a
    # later teardown needs (the kubenode path for kube-proxy's own cleanup).
    nodestate.write(run, state)
    context = readiness.client_context(certs)
    starter = _Starter(run=run, began=began)

    # The apiserver retries etcd until it answers: no need to wait in between.
    for component in (
        components.etcd(inputs),
        components.containerd(inputs),
        components.apiserver(inputs),
    ):
        starter.start(component)
    starter.wait("containerd socket", run.containerd_socket.is_socket, blame="containerd")
    # Importing takes seconds (the Python image most): it runs while the
    # control plane boots, and ``up`` returns only once it is done.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        imported = pool.submit(_import_images, ctr=found.ctr, run=run, images=images)
        _start_kubernetes(starter=starter, inputs=inputs, api=api, context=context)
        imported.result()
    starter.mark("images imported")
    return Node(
        run_dir=run.root,
        kubeconfig=run.admin_kubeconfig,
        node_name=settings.node_name,
        node_ip=node_ip,
        api_url=api,
        milestones=starter.milestones,
    )


def _start_kubernetes(
    *, starter: _Starter, inputs: components.Inputs, api: str, context: ssl.SSLContext
) -> None:
    node_name = inputs.settings.node_name
    starter.wait(
        "apiserver /readyz",
        lambda: readiness.healthy(f"{api}/readyz", context=context),
        blame="kube-apiserver",
    )
    proxy = components.kube_proxy(inputs)
    for component in (
        components.controller_manager(inputs),
        components.scheduler(inputs),
        components.kubelet(inputs),
        proxy,
    ):
        starter.start(component)
    starter.wait(
        "node Ready",
        lambda: readiness.node_is_ready(api=api, context=context, node_name=node_name),
        blame="kubelet",
    )
    starter.wait(
        "default ServiceAccount",
        lambda: readiness.service_account_exists(api=api, context=context, namespace="default"),
        blame="kube-controller-manager",
    )
    starter.wait(
        "kube-proxy synced",
        lambda: readiness.healthy(proxy.health_url or ""),
        blame="kube-proxy",
    )


def up(
    *,
    run_dir: pathlib.Path,
    kubenode: pathlib.Path,
    images: Sequence[Archive],
    pause_image: str,
) -> Node:
    """Start a fresh node (removing any leftover first) and leave it running."""
    run = layout.RunLayout(root=run_dir)
    with lock.held(run):
        return _up_locked(run=run, kubenode=kubenode, images=images, pause_image=pause_image)


def _up_locked(
    *, run: layout.RunLayout, kubenode: pathlib.Path, images: Sequence[Archive], pause_image: str
) -> Node:
    _prepare_run_dir(run)
    cleanup.remove_all(run, empty_run_dir=True)
    remaining = cleanup.leftovers(run.root)
    if remaining:
        raise errors.ClusterError(
            "could not remove what a previous run left:\n  " + "\n  ".join(remaining)
        )
    _prepare_run_dir(run)
    for old_log in run.logs.glob("*.log"):
        old_log.unlink()
    try:
        return _start(run=run, kubenode=kubenode, images=images, pause_image=pause_image)
    except BaseException:
        cleanup.remove_all(run, empty_run_dir=False)
        raise


def down(*, run_dir: pathlib.Path) -> cleanup.TeardownReport:
    """Stop the node and remove everything it left, but its logs."""
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
) -> Iterator[Node]:
    """A node for the duration of the block, torn down on any exit (Ctrl-C too).

    ``wait`` is how long to wait for another harness (a concurrent test session
    on the same machine) to release the node before failing with ``Busy``.
    """
    run = layout.RunLayout(root=run_dir)
    with lock.held(run, wait=wait):
        node = _up_locked(run=run, kubenode=kubenode, images=images, pause_image=pause_image)
        try:
            yield node
        finally:
            cleanup.remove_all(run, empty_run_dir=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentStatus:
    name: str
    pid: int | None
    alive: bool
    rss_kib: int | None


def component_status(run_dir: pathlib.Path) -> list[ComponentStatus]:
    """Each component's pid, liveness and resident memory, from its pid file."""
    run = layout.RunLayout(root=run_dir)
    statuses = []
    for name in ("etcd", "containerd", *reversed(cleanup.KUBE_COMPONENTS)):
        recorded = processes.read_pid_file(run.pid_file_of(name))
        alive = recorded is not None and processes.is_alive(recorded)
        statuses.append(
            ComponentStatus(
                name=name,
                pid=recorded.pid if recorded else None,
                alive=alive,
                rss_kib=_rss_kib(recorded.pid) if recorded and alive else None,
            )
        )
    return statuses


def _rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
