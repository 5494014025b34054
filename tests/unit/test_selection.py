"""Which selected pods a run measures, and why the others are left out."""

from __future__ import annotations

import pytest
from operator_builders import node, pod

from nethealth.detection import selection
from nethealth.remediation import hostnetwork


def test_running_pods_with_an_ip_are_measured_grouped_by_node() -> None:
    chosen = selection.select(
        pods=[pod("b", node="n2"), pod("a", node="n1"), pod("c", node="n1")],
        nodes=[node("n1"), node("n2")],
    )
    assert {n: [p.name for p in ps] for n, ps in chosen.by_node.items()} == {
        "n1": ["a", "c"],
        "n2": ["b"],
    }
    assert chosen.eligible == 3
    assert not chosen.skipped


@pytest.mark.parametrize(
    ("the_pod", "the_node", "reason"),
    [
        (pod("p", phase="Pending"), node("node-a"), "not Running (phase Pending)"),
        (pod("p", terminating=True), node("node-a"), "terminating"),
        (pod("p", ip=None), node("node-a"), "no pod IP yet"),
        (pod("p"), node("node-a", cordoned=True), "node node-a is cordoned"),
        (pod("p"), node("node-a", ready=False), "node node-a is not Ready"),
        (pod("p", node="gone"), node("node-a"), "node gone not found"),
    ],
)
def test_pods_that_cannot_be_measured_fairly_leave_the_denominator(
    the_pod: dict[str, object], the_node: dict[str, object], reason: str
) -> None:
    healthy = pod("ok", node="node-z")
    chosen = selection.select(pods=[the_pod, healthy], nodes=[the_node, node("node-z")])
    assert [p.name for p in chosen.pods] == ["ok"]
    assert [s.reason for s in chosen.skipped] == [reason]


def test_a_host_network_pod_is_skipped_with_a_reason_naming_the_host() -> None:
    chosen = selection.select(pods=[pod("h", host_network=True)], nodes=[node("node-a")])
    assert chosen.eligible == 0
    (skipped,) = chosen.skipped
    assert "hostNetwork" in skipped.reason
    assert skipped.counted


def test_probe_pods_are_never_measured_even_when_the_selector_matches_them() -> None:
    probe = pod("probe", labels={"app": "web", selection.PROBE_LABEL: "true"})
    chosen = selection.select(pods=[probe], nodes=[node("node-a")])
    assert chosen.eligible == 0
    assert not chosen.skipped


def test_the_node_hostname_label_is_kept_for_pinning_jobs() -> None:
    chosen = selection.select(pods=[pod("a")], nodes=[node("node-a", hostname="host-a")])
    assert chosen.hostnames == {"node-a": "host-a"}


def test_a_pod_our_patch_moved_to_host_network_is_measured_to_verify_the_change() -> None:
    moved = pod("web-2", host_network=True)
    moved["metadata"]["annotations"] = {selection.REMEDIATED_BY_ANNOTATION: "apps/web-check"}
    chosen = selection.select(pods=[moved, pod("h", host_network=True)], nodes=[node("node-a")])
    (measured,) = chosen.pods
    assert (measured.name, measured.remediated) == ("web-2", True)
    assert [s.name for s in chosen.skipped] == ["h"]


def test_the_selection_annotation_is_the_one_the_patch_puts_on_new_pods() -> None:
    assert selection.REMEDIATED_BY_ANNOTATION == hostnetwork.BY_ANNOTATION
