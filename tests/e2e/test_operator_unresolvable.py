"""A target that never resolves: the real probe, on the real node, cannot resolve it; the
check is not Ready with ``TargetUnresolvable`` naming ``spec.targets[i].host`` and a
Warning Event; that target is not measured (Inconclusive), the pod is judged on its other
targets (never Degraded for the name), and the operator keeps serving every other check.

The name is under ``.invalid`` (RFC 6761: it never resolves) and has a 64-character
label, so the resolver refuses it before sending a query: the dev node has no cluster DNS,
its pods use the machine's own resolver, and tests must send nothing beyond the node.
The probe resolves it as the pod would (its resolv.conf, from inside its namespace) and
with its own resolver; nothing resolves it, so the check's spec is what is wrong.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import operator_harness as h
import pytest
from kubernetes import client

from nethealth import model
from nethealth.detection import jobs

pytestmark = pytest.mark.e2e

UNRESOLVABLE = "x" * 64 + ".invalid"
TARGETS = [h.API_TARGET, {"name": "db", "host": UNRESOLVABLE, "port": 5432}]


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _refused(api_client: client.ApiClient, *, namespace: str, name: str) -> dict[str, Any]:
    """The check once its Ready condition says its target does not resolve."""
    return h.wait_for(
        api_client,
        namespace=namespace,
        name=name,
        timeout=60,
        what="Ready False with TargetUnresolvable",
        until=lambda o: h.condition(o, "Ready").get("reason") == model.Reason.TARGET_UNRESOLVABLE,
    )


def test_a_target_that_never_resolves_makes_only_its_check_not_ready(
    api_client, namespace, operator_for
):
    h.workload(api_client, namespace=namespace, name="app")
    good_uid = h.create_check(
        api_client, namespace=namespace, body=h.check_body("good", app="app")
    )["metadata"]["uid"]
    h.create_check(
        api_client, namespace=namespace, body=h.check_body("typo", app="app", targets=TARGETS)
    )
    started = time.monotonic()
    typo = _refused(api_client, namespace=namespace, name="typo")
    print(f"\nFIGURE unresolvable target: Ready False {time.monotonic() - started:.0f} s after")
    ready = h.condition(typo, "Ready")
    assert ready["status"] == "False"
    assert ready["message"].startswith(f"spec.targets[1].host {UNRESOLVABLE!r} (target 'db')")
    assert f"{namespace}/app" in ready["message"]
    # The spec is wrong, not the pod: the name's target is not measured, the pod is judged
    # on the other target, never Degraded for the name. (One run of the other target may
    # still fail on its own when six test workers load the two cores: Suspect, at most.)
    assert h.pod_state(typo, "app") in ("Healthy", "Inconclusive", "Suspect"), typo["status"]
    assert h.condition(typo, "Degraded")["status"] == "False"
    assert typo["status"]["summary"]["degraded"] == 0
    warnings = [
        e
        for e in h.events(api_client, namespace=namespace, kind="NetHealthCheck", name="typo")
        if e.reason == model.Reason.TARGET_UNRESOLVABLE
    ]
    assert warnings, "no TargetUnresolvable Event on the check"
    assert warnings[0].type == "Warning"
    assert "spec.targets[1].host" in warnings[0].message
    # The other check, on the same pod, keeps running: a whole run of it starts and ends
    # after the bad one was refused (their first runs overlap), and it is Ready.
    refused = jobs.run_id(_time(ready["lastTransitionTime"]))

    def run_after_refusal(obj: dict[str, Any]) -> bool:
        listed = h.probe_jobs(api_client, namespace=namespace, check_uid=good_uid)
        runs = [j.metadata.labels[jobs.LABEL_RUN] for j in listed]
        latest = max(runs, default="")
        last_run = (obj.get("status") or {}).get("lastRunTime")
        return latest > refused and last_run is not None and jobs.run_id(_time(last_run)) > latest

    good = h.wait_for(
        api_client,
        namespace=namespace,
        name="good",
        timeout=75,
        what="a run of the good check after the bad one was refused",
        until=run_after_refusal,
    )
    # (As above: one run may fail on its own under six test workers; never Degraded.)
    assert h.pod_state(good, "app") in ("Healthy", "Suspect"), good["status"]
    assert h.condition(good, "Ready")["status"] == "True"
    assert h.condition(good, "Degraded")["status"] == "False"


def test_an_unrelated_edit_keeps_the_unresolvable_verdict_without_flapping_ready(
    api_client, namespace, operator_for
):
    """An edit that leaves the failing target as it was is not a reason to say Ready,
    even for a moment: nothing the verdict was about has changed."""
    h.workload(api_client, namespace=namespace, name="app")
    h.create_check(
        api_client, namespace=namespace, body=h.check_body("typo", app="app", targets=TARGETS)
    )
    first = _refused(api_client, namespace=namespace, name="typo")
    patched = client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
        model.GROUP,
        model.VERSION,
        namespace,
        model.PLURAL,
        "typo",
        {"spec": {"threshold": {"failureRate": 0.3}}},
    )
    generation = patched["metadata"]["generation"]
    # Watch Ready from the edit through the next run, closely: the wart was a Ready True
    # between the edit and the next run.
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        obj = h.read_check(api_client, namespace=namespace, name="typo")
        ready = h.condition(obj, "Ready")
        seen.append((obj["status"].get("observedGeneration"), ready["status"], ready["reason"]))
        if (
            obj["status"].get("observedGeneration") == generation
            and obj["status"]["lastRunTime"] > first["status"]["lastRunTime"]
        ):
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"no run under generation {generation} within 60 s: {seen[-3:]}")
    print(f"\nFIGURE unrelated edit: Ready read {len(seen)} times until the next run: {set(seen)}")
    assert {(s, r) for _, s, r in seen} == {("False", model.Reason.TARGET_UNRESOLVABLE)}, seen
    assert (generation, "False", model.Reason.TARGET_UNRESOLVABLE) in seen
