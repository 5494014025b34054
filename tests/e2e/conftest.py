"""Fixtures for tests against a real single-node cluster on this machine.

``cluster`` starts one node for the whole session (building ``kubenode`` and
the images first if they are not cached; CI builds them in a step of its own)
and tears it down at the end, on failure and on Ctrl-C too, then checks that
nothing of it is left. With ``NETHEALTH_KUBECONFIG`` pointing at a running node
(``nethealth cluster up`` prints it) the session uses that one and leaves it
running.

``api_client`` is a Kubernetes client for it; ``namespace`` is a fresh
namespace per test, deleted (and waited for) afterwards.

Tests marked ``e2e_disruptive`` restart or break the node: they run after all
others, so no other test sees the node they leave.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import secrets
import time
from collections.abc import Callable, Iterator

import interrupts
import kubernetes
import operator_harness
import pytest
import remediation_helpers

from nethealth.devcluster import build, cleanup, helmtool, images, layout, node, tools

REUSE_ENV = "NETHEALTH_KUBECONFIG"
NAMESPACE_DELETE_TIMEOUT = 120.0
# Another session on this machine may hold the one node; wait this long for it.
BUSY_WAIT_SECONDS = 300.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e_disruptive: restarts or breaks the session's node; runs last"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    del config
    # Stable: every other test keeps its order, the disruptive ones go last.
    items.sort(key=lambda item: item.get_closest_marker("e2e_disruptive") is not None)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"missing prerequisite in CI: {reason}")
    pytest.skip(reason)


def _reused(kubeconfig: pathlib.Path) -> node.Node:
    """The running node a kubeconfig points at, described like one this session started."""
    client = kubernetes.config.new_client_from_config(str(kubeconfig))
    try:
        nodes = kubernetes.client.CoreV1Api(client).list_node(_request_timeout=10).items
        host = client.configuration.host
    except Exception as exc:  # any failure means the same: no usable node there
        pytest.fail(f"{REUSE_ENV}={kubeconfig}: no running node answers there: {exc}")
    finally:
        client.close()
    # Node objects without a kubelet (the scale benchmark's) may sit beside the real one.
    real = [n for n in nodes if n.metadata.name == layout.NODE_NAME]
    if len(real) != 1:
        pytest.fail(f"{REUSE_ENV}={kubeconfig}: no node {layout.NODE_NAME} among {len(nodes)}")
    addresses = {a.type: a.address for a in real[0].status.addresses or []}
    return node.Node(
        run_dir=kubeconfig.parent,
        kubeconfig=kubeconfig,
        node_name=real[0].metadata.name,
        node_ip=ipaddress.IPv4Address(addresses.get("InternalIP", "0.0.0.0")),
        api_url=host,
    )


def _prerequisites() -> tuple[pathlib.Path, list[images.ImageArchive]]:
    if os.geteuid() != 0:
        _unavailable("the e2e cluster needs root (cgroups, mounts, iptables)")
    try:
        tools.find()
        kubenode = build.ensure_kubenode().path
    except (tools.ToolMissing, build.BuildError) as exc:
        _unavailable(str(exc))
    return kubenode, images.build_all()


@pytest.fixture(scope="session")
def cluster() -> Iterator[node.Node]:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        reused = _reused(pathlib.Path(reuse))
        # The node may predate this tree: load the images built from it (cached by their
        # inputs; importing an unchanged image again is a no-op).
        node._import_images(
            ctr=tools.find().ctr,
            run=layout.RunLayout(root=reused.run_dir),
            images=images.build_all(),
        )
        yield reused
        return
    kubenode, archives = _prerequisites()
    run_dir = layout.default_run_dir()
    with (
        interrupts.sigterm_unwinds(),
        node.running(
            run_dir=run_dir,
            kubenode=kubenode,
            images=archives,
            pause_image=images.PAUSE_IMAGE,
            wait=BUSY_WAIT_SECONDS,
        ) as started,
    ):
        yield started
    remaining = cleanup.leftovers(run_dir)
    if remaining:
        pytest.fail("the cluster's teardown left:\n  " + "\n  ".join(remaining))


@pytest.fixture(scope="session")
def api_client(cluster: node.Node) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(str(cluster.kubeconfig))
    try:
        yield client
    finally:
        client.close()


def _wait_gone(read: Callable[[], object], *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            read()
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        if time.monotonic() > deadline:
            pytest.fail(f"{what} still exists {timeout:.0f} s after its deletion")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def _deleted_namespaces(cluster: node.Node) -> Iterator[list[str]]:
    """Namespaces deleted by tests, waited for at the end of the session.

    The namespace controller waits 5 s before it even starts on a deleted
    namespace (a fixed grace for HA apiservers): waiting per test would add
    that to every test, so only their pods are waited for per test.
    """
    names: list[str] = []
    yield names
    # A fresh client: a disruptive test may have restarted the node with new
    # credentials (and then the namespaces are gone with the old etcd).
    client = kubernetes.config.new_client_from_config(str(cluster.kubeconfig))
    try:
        core = kubernetes.client.CoreV1Api(client)
        for name in names:
            _wait_gone(
                lambda name=name: core.read_namespace(name),
                what=f"namespace {name}",
                timeout=NAMESPACE_DELETE_TIMEOUT,
            )
    finally:
        client.close()


@pytest.fixture
def namespace(
    api_client: kubernetes.client.ApiClient, _deleted_namespaces: list[str]
) -> Iterator[str]:
    core = kubernetes.client.CoreV1Api(api_client)
    name = f"t-{secrets.token_hex(4)}"
    core.create_namespace({"metadata": {"name": name, "labels": {"nethealth.test/e2e": "true"}}})
    try:
        yield name
    finally:
        # The test's operator is gone by now: a check still held by its revert-on-delete
        # finalizer would hold the namespace forever.
        remediation_helpers.release_checks(api_client, namespace=name)
        # Terminating first, so no controller can create new pods in it; then the
        # pods go now (their containers stopped), the rest with the namespace.
        core.delete_namespace(name)
        _deleted_namespaces.append(name)
        core.delete_collection_namespaced_pod(name, grace_period_seconds=1)
        deadline = time.monotonic() + NAMESPACE_DELETE_TIMEOUT
        while core.list_namespaced_pod(name).items:
            if time.monotonic() > deadline:
                pytest.fail(f"pods of namespace {name} still exist after their deletion")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def helm() -> pathlib.Path:
    """The helm binary that `nethealth cluster build` built (the chart tests need it)."""
    binary = helmtool.cached_helm()
    if binary is None:
        _unavailable("helm is not built: run `nethealth cluster build`")
    assert binary is not None
    return binary


@pytest.fixture
def operator_for(
    cluster: node.Node,
    api_client: kubernetes.client.ApiClient,
    namespace: str,
    tmp_path: pathlib.Path,
) -> Iterator[operator_harness.Running]:
    """The operator as a real process, watching only the test's namespace."""
    operator_harness.install_crd(api_client)
    with operator_harness.operator(
        kubeconfig=cluster.kubeconfig, log=tmp_path / "operator.log", namespaces=(namespace,)
    ) as running:
        yield running
