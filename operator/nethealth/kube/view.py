"""The shared view of pods and nodes: what every check's selection reads.

A check used to list its pods and every node at each run; a thousand checks did that a
thousand times per interval, and each waiting run held its own copy (docs/performance.md).
``Watched`` answers from a ``Store`` that one watch per kind keeps current
(``watching``), holding only ``facts.PodFacts``/``facts.NodeFacts`` per object. ``Listing``
is the same ``View`` by listing, one call per question: the loop tests' default on the
in-memory fake, and the answer for namespaces outside the watch's scope.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from nethealth.detection import facts
from nethealth.kube import client
from nethealth.model import raw, selectors

SYNC_POLL_SECONDS: Final = 0.2


class View(Protocol):
    """The pods a selector matches in a namespace, and the nodes, as the loop needs them."""

    async def pods(
        self, *, namespace: str, selector: selectors.LabelSelector
    ) -> list[facts.PodFacts]: ...
    async def nodes(self) -> list[facts.NodeFacts]: ...


class Listing:
    """The ``View`` by listing (a request per question)."""

    def __init__(self, api: client.Api) -> None:
        self._api = api

    async def pods(
        self, *, namespace: str, selector: selectors.LabelSelector
    ) -> list[facts.PodFacts]:
        listed = await self._api.list_pods(namespace=namespace, label_selector=selector.as_query())
        return [facts.pod_facts(p) for p in listed]

    async def nodes(self) -> list[facts.NodeFacts]:
        return [facts.node_facts(n) for n in await self._api.list_nodes()]


class Store:
    """Facts by namespace and name, replaced by a listing and updated by watch events.

    Written by the watch threads, read by the event loop: one lock around every access
    (each holds it for a dictionary operation or one copy of a namespace's pods).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pods: dict[str, dict[str, facts.PodFacts]] = {}  # namespace -> name -> facts
        self._nodes: dict[str, facts.NodeFacts] = {}
        self.pods_synced = threading.Event()
        self.nodes_synced = threading.Event()

    def replace_pods(self, listed: Iterable[Mapping[str, Any]], *, namespace: str | None) -> None:
        """A fresh listing of every pod (``namespace`` None) or of one namespace's."""
        fresh: dict[str, dict[str, facts.PodFacts]] = {}
        for pod in listed:
            found = facts.pod_facts(pod)
            fresh.setdefault(found.namespace, {})[found.name] = found
        with self._lock:
            if namespace is None:
                self._pods = fresh
            else:
                self._pods[namespace] = fresh.get(namespace, {})

    def pod_event(self, kind: str, pod: Mapping[str, Any]) -> None:
        """A watch event (ADDED, MODIFIED, DELETED) of a pod."""
        namespace, name = raw.namespace(pod), raw.name(pod)
        with self._lock:
            if kind == "DELETED":
                self._pods.get(namespace, {}).pop(name, None)
            else:
                self._pods.setdefault(namespace, {})[name] = facts.pod_facts(pod)

    def replace_nodes(self, listed: Iterable[Mapping[str, Any]]) -> None:
        fresh = {raw.name(n): facts.node_facts(n) for n in listed}
        with self._lock:
            self._nodes = fresh

    def node_event(self, kind: str, node: Mapping[str, Any]) -> None:
        with self._lock:
            if kind == "DELETED":
                self._nodes.pop(raw.name(node), None)
            else:
                self._nodes[raw.name(node)] = facts.node_facts(node)

    def pods_in(self, namespace: str) -> list[facts.PodFacts]:
        with self._lock:
            return list(self._pods.get(namespace, {}).values())

    def all_nodes(self) -> list[facts.NodeFacts]:
        with self._lock:
            return list(self._nodes.values())

    def pod_count(self) -> int:
        with self._lock:
            return sum(len(pods) for pods in self._pods.values())


class Watched:
    """The ``View`` from a ``Store`` the watches keep; a question is answered once the
    store has its first listing. Namespaces outside ``scope`` (an operator watching some
    namespaces, a ``namespaceSelector`` reaching others) are answered by ``fallback``."""

    def __init__(
        self, *, store: Store, fallback: View, scope: frozenset[str] | None = None
    ) -> None:
        self.store = store
        self._fallback = fallback
        self._scope = scope

    async def pods(
        self, *, namespace: str, selector: selectors.LabelSelector
    ) -> list[facts.PodFacts]:
        if self._scope is not None and namespace not in self._scope:
            return await self._fallback.pods(namespace=namespace, selector=selector)
        await _synced(self.store.pods_synced)
        return [p for p in self.store.pods_in(namespace) if facts.matches(selector, p.labels)]

    async def nodes(self) -> list[facts.NodeFacts]:
        await _synced(self.store.nodes_synced)
        return self.store.all_nodes()


async def _synced(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(SYNC_POLL_SECONDS)
