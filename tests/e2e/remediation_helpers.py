"""Helpers for the remediation e2e tests: leaving a namespace deletable.

A check that changed a workload carries the finalizer ``nethealth.io/revert-on-delete``;
once the test's operator is stopped, nothing would release it and the namespace would hang
in Terminating. So a test deletes its checks while its operator still runs (the operator
reverts and releases them, as for a user), and strips the finalizer of any left after a
grace period (a failed test, an operator that died).
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
    for check in api.list_namespaced_custom_object(*args)["items"]:
        with contextlib.suppress(client.ApiException):
            api.patch_namespaced_custom_object(
                *args,
                check["metadata"]["name"],
                {"metadata": {"finalizers": None}},
                _content_type="application/merge-patch+json",
            )
    if not _gone(api, args, grace=grace):
        raise AssertionError(f"checks of namespace {namespace} still exist after their deletion")


def _gone(api: client.CustomObjectsApi, args: tuple[str, ...], *, grace: float) -> bool:
    deadline = time.monotonic() + grace
    while api.list_namespaced_custom_object(*args)["items"]:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
