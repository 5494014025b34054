"""List-then-watch of pods and nodes into a ``view.Store``: one watch per kind (per
watched namespace for pods, when the operator is limited to some) shared by every check.

Each runs in a daemon thread (the client is synchronous; the event loop never waits on
it). Lists are paged (``PAGE``) and read as JSON, each object turned into its facts at
once, so the peak is one page, not every pod parsed at the same time; watch events are
read line by line the same way. On any error (a 410 Gone after a long disconnect, a
dropped connection) the thread lists again after a pause: the store is replaced, not
merged, so nothing deleted meanwhile stays in it. Probe pods are left out by the label
selector: they come and go every run and no check measures them.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from nethealth.detection import facts
from nethealth.kube import connection, view

PAGE: Final = 500
WATCH_SECONDS: Final = 300  # the server ends a watch after this; it is resumed at once
ERROR_PAUSE_SECONDS: Final = 5.0
POD_SELECTOR: Final = f"!{facts.PROBE_LABEL}"

logger = logging.getLogger(__name__)

Replace = Callable[[Iterator[Mapping[str, Any]]], None]
Apply = Callable[[str, Mapping[str, Any]], None]


class Watches:
    """The threads feeding one store; ``stop`` ends them at their next event or timeout."""

    def __init__(self, conn: connection.Connection, *, namespaces: frozenset[str]) -> None:
        self.store = view.Store()
        self._conn = conn
        self._namespaces = namespaces
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        from kubernetes import client  # noqa: PLC0415 - heavy, operator-only

        core = client.CoreV1Api(self._conn.client)
        store = self.store
        if self._namespaces:
            # One watch per namespace: the store is synced when every one has listed.
            synced: set[str] = set()
            for namespace in sorted(self._namespaces):
                self._spawn(
                    f"pods in {namespace}",
                    functools.partial(core.list_namespaced_pod, namespace),
                    replace=_one_namespace(store, namespace, synced, self._namespaces),
                    apply=store.pod_event,
                    selector=POD_SELECTOR,
                )
        else:
            self._spawn(
                "pods",
                core.list_pod_for_all_namespaces,
                replace=_all_pods(store),
                apply=store.pod_event,
                selector=POD_SELECTOR,
            )
        self._spawn("nodes", core.list_node, replace=_nodes(store), apply=store.node_event)

    def stop(self) -> None:
        self._stopped.set()

    def _spawn(
        self, what: str, list_call: Any, *, replace: Replace, apply: Apply, selector: str = ""
    ) -> None:
        thread = threading.Thread(
            target=self._serve,
            kwargs={
                "what": what,
                "list_call": list_call,
                "replace": replace,
                "apply": apply,
                "selector": selector,
            },
            name=f"watch {what}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _serve(
        self, *, what: str, list_call: Any, replace: Replace, apply: Apply, selector: str
    ) -> None:
        while not self._stopped.is_set():
            try:
                pages = _Pages(list_call, selector=selector)
                replace(iter(pages))
                self._watch(list_call, selector=selector, since=pages.version, apply=apply)
            except Exception as error:  # any failure: list again after a pause
                logger.warning("watching %s: %s; listing again", what, error)
                self._stopped.wait(ERROR_PAUSE_SECONDS)

    def _watch(self, list_call: Any, *, selector: str, since: str, apply: Apply) -> None:
        from kubernetes.watch import watch  # noqa: PLC0415 - heavy, operator-only

        version = since
        while not self._stopped.is_set():
            response = list_call(
                label_selector=selector,
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS,
                _preload_content=False,
            )
            try:
                for line in watch.iter_resp_lines(response):
                    if not line or self._stopped.is_set():
                        continue
                    event = json.loads(line)
                    kind, obj = event["type"], event["object"]
                    if kind == "ERROR":
                        raise RuntimeError(f"{obj.get('code')} {obj.get('message')}")
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if kind != "BOOKMARK":
                        apply(kind, obj)
            finally:
                response.release_conn()


class _Pages:
    """The items of a paged list, one page parsed at a time; ``version`` is the list's
    resourceVersion once every page was read (where the watch starts)."""

    def __init__(self, list_call: Any, *, selector: str) -> None:
        self._list_call = list_call
        self._selector = selector
        self.version = ""

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        token: str | None = None
        while True:
            response = self._list_call(
                label_selector=self._selector,
                limit=PAGE,
                _continue=token,
                _preload_content=False,
            )
            page = json.loads(response.data)
            yield from page.get("items") or ()
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                self.version = meta.get("resourceVersion") or ""
                return


def _all_pods(store: view.Store) -> Replace:
    def replace(items: Iterator[Mapping[str, Any]]) -> None:
        store.replace_pods(items, namespace=None)
        store.pods_synced.set()

    return replace


def _one_namespace(
    store: view.Store, namespace: str, synced: set[str], every: frozenset[str]
) -> Replace:
    def replace(items: Iterator[Mapping[str, Any]]) -> None:
        store.replace_pods(items, namespace=namespace)
        synced.add(namespace)
        if synced >= every:
            store.pods_synced.set()

    return replace


def _nodes(store: view.Store) -> Replace:
    def replace(items: Iterator[Mapping[str, Any]]) -> None:
        store.replace_nodes(items)
        store.nodes_synced.set()

    return replace


def shared_view(
    conn: connection.Connection, *, namespaces: frozenset[str], fallback: view.View
) -> tuple[view.Watched, Watches]:
    """A view kept by watches of every pod the operator serves (``namespaces``; empty:
    all) and of the nodes; ``Watches.start`` begins filling it."""
    watches = Watches(conn, namespaces=namespaces)
    scope = namespaces or None
    return view.Watched(store=watches.store, fallback=fallback, scope=scope), watches
