"""`nethealth demo --inject-fault` ends with the verdict a person acts on: which pod, the
probe's class, how many connects failed, and the top hint."""

from __future__ import annotations

import json

from nethealth.commands import demo


def _check(*pods: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": "nethealth-demo"}, "status": {"pods": list(pods)}}


def test_the_story_ends_on_the_degraded_pod_with_class_rate_and_top_hint() -> None:
    degraded = {
        "name": "nethealth-demo-7d9",
        "state": "Degraded",
        "class": "PodNamespace",
        "failureRate": 0.45,
        "samples": 60,
        "hint": "PolicyRuleUnreachable: rule 100 to 203.0.113.1 unreachable",
    }
    checks = [_check({"name": "other", "state": "Healthy"}), _check(degraded)]
    pod = demo._degraded_pod(checks)
    assert pod == degraded
    text = demo._verdict(pod, namespace="nethealth-demo")
    assert "pod nethealth-demo/nethealth-demo-7d9 is Degraded" in text
    assert "class:     PodNamespace" in text
    assert "45 % of 60 connects" in text
    assert "top hint:  PolicyRuleUnreachable: rule 100" in text


def test_no_degraded_pod_means_the_story_goes_on() -> None:
    checks = [_check({"name": "a", "state": "Healthy"}, {"name": "b", "state": "Suspect"})]
    assert demo._degraded_pod(checks) is None


def test_the_story_shows_the_patch_dry_run_would_apply() -> None:
    entry = {
        "kind": "Deployment",
        "namespace": "nethealth-demo",
        "name": "nethealth-demo",
        "state": "DryRun",
        "reason": "DryRun",
        "message": "Deployment/nethealth-demo/nethealth-demo: would set hostNetwork: true",
        "patch": json.dumps(
            {"spec": {"template": {"spec": {"hostNetwork": True, "dnsPolicy": "X"}}}}
        ),
    }
    check = {"metadata": {"name": "nethealth-demo"}, "status": {"remediation": [entry]}}
    text = demo._remedy([check])
    assert "remediation (DryRun): Deployment/nethealth-demo/nethealth-demo" in text
    assert 'would apply: {"dnsPolicy": "X", "hostNetwork": true}' in text
    assert "mode: Auto" in text
