"""The shared view on the real API server: the watches that every check's selection reads
(``kube/watching.py``) list, then follow pods and nodes; a pod's label change and its
deletion reach the store, and probe pods never do."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client

from nethealth.detection import facts
from nethealth.devcluster import sleepers
from nethealth.kube import connection, view, watching

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["one namespace", "every namespace"])
def watches(
    request: pytest.FixtureRequest, api_client: client.ApiClient, namespace: str
) -> Iterator[watching.Watches]:
    scope = frozenset({namespace}) if request.param == "one namespace" else frozenset()
    conn = connection.Connection(client=api_client, namespace=namespace)
    found = watching.Watches(conn, namespaces=scope)
    found.start()
    try:
        yield found
    finally:
        found.stop()


def _until(what: str, holds: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not holds():
        if time.monotonic() > deadline:
            pytest.fail(f"the shared view never saw {what} within {timeout:.0f} s")
        time.sleep(0.2)


def _names(store: view.Store, namespace: str) -> dict[str, facts.PodFacts]:
    return {p.name: p for p in store.pods_in(namespace)}


def test_the_view_follows_pods_and_nodes_as_the_api_server_changes_them(
    api_client: client.ApiClient, namespace: str, watches: watching.Watches
) -> None:
    core = client.CoreV1Api(api_client)
    store = watches.store
    _until("its first listing", lambda: store.pods_synced.is_set() and store.nodes_synced.is_set())
    node_names = {n.metadata.name for n in core.list_node().items}
    assert {n.name for n in store.all_nodes()} == node_names
    assert all(n.problem is None for n in store.all_nodes())  # the dev cluster is Ready
    for name, labels in (("web", {"app": "web"}), ("probe", {facts.PROBE_LABEL: "true"})):
        core.create_namespaced_pod(
            namespace,
            {"metadata": {"name": name, "labels": labels}, "spec": sleepers.pod_spec()},
        )
    _until(
        "the new pod running",
        lambda: (
            _names(store, namespace).get("web", None) is not None
            and _names(store, namespace)["web"].phase == "Running"
        ),
    )
    seen = _names(store, namespace)["web"]
    assert seen.ip
    assert seen.node in node_names
    assert seen.labels == {"app": "web"}
    core.patch_namespaced_pod("web", namespace, {"metadata": {"labels": {"app": "shop"}}})
    _until("the label change", lambda: _names(store, namespace)["web"].labels == {"app": "shop"})
    core.delete_namespaced_pod("web", namespace, grace_period_seconds=0)
    _until("the deletion", lambda: "web" not in _names(store, namespace))
    assert "probe" not in _names(store, namespace)  # probe pods never enter the view
