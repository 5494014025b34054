"""What ``revert`` says: the values it restored and who had changed them, or that
nothing was recorded."""

from __future__ import annotations

import datetime

from nethealth.plugin import restored
from nethealth.remediation import hostnetwork

KEY = hostnetwork.WorkloadKey(kind=hostnetwork.Kind.DEPLOYMENT, namespace="apps", name="web")
NOW = datetime.datetime(2026, 2, 15, 12, 0, 0, tzinfo=datetime.UTC)


def deployment(pod_spec: dict, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "annotations": annotations or {}},
        "spec": {"template": {"spec": pod_spec}},
    }


def patched(original: dict) -> dict:
    """The workload after the operator's apply: the body's fields and annotations on it."""
    body = hostnetwork.patch_body(
        key=KEY,
        workload=deployment(original),
        check="apps/web-check",
        check_uid="uid-of-web-check",
        revert_on_delete=True,
        now=NOW,
    )
    return deployment(
        {**original, **body["spec"]["template"]["spec"]}, body["metadata"]["annotations"]
    )


def test_it_says_what_it_restored_and_who_had_changed_it():
    before = patched({"dnsPolicy": "ClusterFirst"})
    text = restored.outcome(key=KEY, before=before, after=deployment({"dnsPolicy": "ClusterFirst"}))
    assert text.startswith(
        "deployment/web in namespace apps: restored hostNetwork unset, dnsPolicy ClusterFirst"
        " (it had hostNetwork true, dnsPolicy ClusterFirstWithHostNet, set by check"
        " apps/web-check at 2026-02-15T12:00:00Z)"
    )
    assert "pauseRequests" in text


def test_an_explicit_original_value_is_named():
    before = patched({"hostNetwork": False, "dnsPolicy": "Default"})
    text = restored.outcome(key=KEY, before=before, after=deployment({}))
    assert "restored hostNetwork false, dnsPolicy Default" in text


def test_nothing_recorded_says_so_and_shows_the_current_values():
    before = deployment({"dnsPolicy": "ClusterFirst"})
    text = restored.outcome(key=KEY, before=before, after=None)
    assert text == (
        "deployment/web in namespace apps: nothing recorded, nothing restored: no nethealth"
        " hostNetwork patch is on record (never patched, or reverted already). Its pod"
        " template has hostNetwork unset, dnsPolicy ClusterFirst."
    )
