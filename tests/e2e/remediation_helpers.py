"""Helpers for the remediation e2e tests: leaving a namespace deletable.

A check that changed a workload carries the finalizer ``nethealth.io/revert-on-delete``;
once the test's operator is stopped, nothing would release it and the namespace would hang
in Terminating. So a test deletes its checks while its operator still runs (the operator
reverts and releases them, as for a user), and strips the finalizer of any left after a
grace period (a failed test, an operator that died). ``release_checks`` is that last step
alone, for whatever deletes a namespace after its operator: the ``namespace`` fixture, the
Argo CD recorder, the scale benchmark's cleanup.
"""

from __future__ import annotations

import contextlib
import time

from kubernetes import client

from nethealth import model


def delete_checks(api_client: client.ApiClient, *, namespace: str, grace: float = 30.0) -> None:
    api = client.CustomObjectsApi(api_client)
    args = (model.GROUP, model.VERSION, namespace, model.PLURAL)
    for check in api.list_namespaced_custom_object(*args)["items"]:
        with contextlib.suppress(client.ApiException):
            api.delete_namespaced_custom_object(*args, check["metadata"]["name"])
    if _gone(api, args, grace=grace):
        return
    release_checks(api_client, namespace=namespace)
    if not _gone(api, args, grace=grace):
        raise AssertionError(f"checks of namespace {namespace} still exist after their deletion")


def release_checks(api_client: client.ApiClient, *, namespace: str) -> None:
    """Strips the finalizer of every check in ``namespace`` that still has one, which only
    the operator would release otherwise. No CRD installed, or a check gone meanwhile:
    nothing to release."""
    api = client.CustomObjectsApi(api_client)
    args = (model.GROUP, model.VERSION, namespace, model.PLURAL)
    try:
        checks = api.list_namespaced_custom_object(*args)["items"]
    except client.ApiException as exc:
        if exc.status == 404:
            return
        raise
    for check in checks:
        if not check["metadata"].get("finalizers"):
            continue
        try:
            api.patch_namespaced_custom_object(
                *args,
                check["metadata"]["name"],
                {"metadata": {"finalizers": None}},
                _content_type="application/merge-patch+json",
            )
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def _gone(api: client.CustomObjectsApi, args: tuple[str, ...], *, grace: float) -> bool:
    deadline = time.monotonic() + grace
    while api.list_namespaced_custom_object(*args)["items"]:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
