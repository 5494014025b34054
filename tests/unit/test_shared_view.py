"""The shared view of pods and nodes: every check's selection reads one store kept by
watches, holding a few facts per pod, instead of listing pods and nodes at every run."""

from __future__ import annotations

import asyncio

import fakekube
import pytest
from loop_world import FAST, world
from operator_builders import node, pod

from nethealth import model
from nethealth.detection import facts
from nethealth.kube import view
from nethealth.model import selectors
from nethealth.remediation import hostnetwork


def _selector(match_labels: dict[str, str], *expressions: tuple[str, str, tuple[str, ...]]):
    return selectors.LabelSelector(
        match_labels=match_labels,
        match_expressions=tuple(
            selectors.Requirement(key=k, operator=selectors.SelectorOperator(o), values=v)
            for k, o, v in expressions
        ),
    )


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (_selector({"app": "web"}), {"app": "web", "tier": "a"}, True),
        (_selector({"app": "web"}), {"app": "db"}, False),
        (_selector({}, ("tier", "In", ("a", "b"))), {"tier": "b"}, True),
        (_selector({}, ("tier", "In", ("a", "b"))), {}, False),
        (_selector({}, ("tier", "NotIn", ("a",))), {}, True),
        (_selector({}, ("tier", "NotIn", ("a",))), {"tier": "a"}, False),
        (_selector({}, ("tier", "Exists", ())), {"tier": ""}, True),
        (_selector({}, ("tier", "DoesNotExist", ())), {"tier": "a"}, False),
        (_selector({"app": "web"}, ("tier", "Exists", ())), {"app": "web"}, False),
    ],
)
def test_a_selector_matches_in_memory_as_the_api_server_matches_its_query(
    selector: selectors.LabelSelector, labels: dict[str, str], expected: bool
) -> None:
    assert facts.matches(selector, labels) is expected
    # the fake API server's selector, which reads the query string the listing sends
    assert fakekube._matches(selector.as_query(), labels) is expected


def test_a_pods_facts_give_remediation_the_same_pod_as_its_body() -> None:
    body = pod("web-1")
    body["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web-rs"}]
    assert facts.pod_facts(body).owner_facts() == hostnetwork.owner_facts(body)


def test_the_store_follows_watch_events_and_a_new_listing_replaces_it() -> None:
    store = view.Store()
    store.replace_pods([pod("a"), pod("b"), pod("c", namespace="shop")], namespace=None)
    store.pod_event("ADDED", pod("d"))
    store.pod_event("MODIFIED", pod("a", phase="Failed"))
    store.pod_event("DELETED", pod("b"))
    assert {(p.name, p.phase) for p in store.pods_in("apps")} == {
        ("a", "Failed"),
        ("d", "Running"),
    }
    # after a lost watch: a pod deleted meanwhile is gone, not kept from before
    store.replace_pods([pod("d")], namespace=None)
    assert [p.name for p in store.pods_in("apps")] == ["d"]
    assert store.pods_in("shop") == []
    store.replace_nodes([node("n1"), node("n2", ready=False)])
    store.node_event("DELETED", node("n1"))
    assert [(n.name, n.problem) for n in store.all_nodes()] == [("n2", "is not Ready")]


def test_a_namespace_outside_the_watched_ones_is_answered_by_listing() -> None:
    async def scenario() -> None:
        clock = fakekube.FakeClock()
        cluster = fakekube.FakeCluster(clock)
        cluster.add_node()
        cluster.add_deployment("web", namespace="other", labels={"app": "web"})
        store = view.Store()
        store.pods_synced.set()
        shared = view.Watched(store=store, fallback=view.Listing(cluster), scope=frozenset({"a"}))
        found = await shared.pods(namespace="other", selector=_selector({"app": "web"}))
        assert [p.namespace for p in found] == ["other"]
        assert await shared.pods(namespace="a", selector=_selector({"app": "web"})) == []

    asyncio.run(scenario())


def test_a_question_waits_for_the_first_listing() -> None:
    async def scenario() -> None:
        store = view.Store()
        shared = view.Watched(
            store=store, fallback=view.Listing(fakekube.FakeCluster(fakekube.FakeClock()))
        )
        asking = asyncio.create_task(shared.nodes())
        await asyncio.sleep(0.3)
        assert not asking.done()
        store.replace_nodes([node("n1")])
        store.nodes_synced.set()
        assert [n.name for n in await asyncio.wait_for(asking, 2)] == ["n1"]

    asyncio.run(scenario())


def test_checks_on_the_shared_view_never_list_pods_or_nodes_to_select() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        second = w.cluster.add_check("web-too", **FAST)
        shared = w.cluster.shared_view()
        loops = [w.loop(), w.loop(second)]
        for loop in loops:
            loop._view = shared
        for _ in range(3):
            for loop in loops:
                await loop.run(model.parse(loop._body()))
            w.clock.advance(minutes=5)
        for check in (w.check, second):
            assert {p["state"] for p in w.status(check)["pods"]} == {"Healthy"}
        assert w.cluster.calls["list_nodes"] == 0
        assert w.cluster.calls["list_pods app=web"] == 0
        # the probe pods of each run are still read by listing (their Jobs' results)
        assert any(k.startswith("list_pods nethealth.io/check-uid") for k in w.cluster.calls)

    asyncio.run(scenario())


def test_a_pod_that_stops_running_leaves_the_next_run_through_the_view() -> None:
    async def scenario() -> None:
        w = world(**FAST)
        loop = w.loop()
        loop._view = w.cluster.shared_view()
        await w.run(loop)
        assert len(w.status()["pods"]) == 1
        (only,) = w.cluster.pods.values()
        only["status"]["phase"] = "Failed"
        w.cluster.publish()  # the watch's MODIFIED event
        await w.run(loop)
        assert w.status().get("pods") in (None, [])
        assert w.cluster.calls["list_nodes"] == 0

    asyncio.run(scenario())
