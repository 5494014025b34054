"""Pure: the cure Job — ``nethealth cure`` on one pod's node — and how to read its result.

The one place that says what the operator's in-place cure may run, so that an admission
policy can match it exactly (``docs/security.md``): the operator's own image, the command
``nethealth cure --pod-uid UID --action add|remove``, uid 0, ``hostPID``, every
capability dropped but ``SYS_ADMIN`` (setns), ``SYS_PTRACE`` (open another user's
``/proc/PID/ns/net``) and ``NET_ADMIN`` (change a route in the pod's namespace), not
privileged, no service-account token, pinned to the pod's node, ``backoffLimit`` 0, a
short ``activeDeadlineSeconds`` and ``ttlSecondsAfterFinished``. The shell
(``loop/cure.py``) deletes it as soon as its result is read.

The Job runs in the pod's namespace (where the probe Jobs of that pod run too). It carries
none of the probe Jobs' check labels: a cure Job is never mistaken for a probe run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from nethealth.detection import selection
from nethealth.model import raw
from nethealth.probe import broadcastroute

ADD: Final = "add"
REMOVE: Final = "remove"
ACTIONS: Final = (ADD, REMOVE)
DEVICE: Final = broadcastroute.DEFAULT_DEVICE
CAPABILITIES: Final = ("SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN")
DEADLINE_SECONDS: Final = 60  # the change takes well under a second; pulling the image not
TTL_SECONDS: Final = 120  # a Job the operator could not delete (it died) goes by itself
CONTAINER: Final = "cure"

LABEL_CURE: Final = "nethealth.io/cure"  # the Job's name: how the shell finds its pod
LABEL_CURE_CHECK_UID: Final = "nethealth.io/cure-check-uid"
MANAGED_BY: Final = "nethealth-operator"
NAME: Final = "nethealth-cure"


def route() -> str:
    """The route the cure adds, as ``ip route`` writes it (DryRun shows exactly this)."""
    return broadcastroute.describe(DEVICE)


def command(*, pod_uid: str, action: str) -> list[str]:
    """The container's args (the image's entrypoint is ``nethealth``)."""
    if action not in ACTIONS:
        raise ValueError(f"cure action {action!r}: expected one of {', '.join(ACTIONS)}")
    return ["cure", "--pod-uid", pod_uid, "--action", action, "--device", DEVICE]


def security_context() -> dict[str, Any]:
    return {
        "runAsUser": 0,
        "runAsGroup": 0,
        "runAsNonRoot": False,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": list(CAPABILITIES)},
    }


def job_name(*, pod: selection.PodRef, action: str, check_uid: str) -> str:
    """``nhc-<pod>-<hash>``: one name per pod, action and check, at most 52 characters."""
    digest = hashlib.sha256(f"{check_uid}/{pod.uid}/{action}".encode()).hexdigest()[:10]
    stem = re.sub(r"[^a-z0-9-]", "-", pod.name.lower())[:32].strip("-")
    return f"nhc-{stem}-{digest}"


def manifest(
    *, pod: selection.PodRef, hostname: str, image: str, action: str, check_uid: str
) -> dict[str, Any]:
    """The Job that adds (or removes) the route in ``pod``'s namespace, on its node."""
    name = job_name(pod=pod, action=action, check_uid=check_uid)
    labels = {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        selection.PROBE_LABEL: "true",  # never selected or measured as a workload pod
        LABEL_CURE: name,
        LABEL_CURE_CHECK_UID: check_uid,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": pod.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {selection.HOSTNAME_LABEL: hostname},
                    "tolerations": [{"operator": "Exists"}],
                    "hostPID": True,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 2,
                    "containers": [
                        {
                            "name": CONTAINER,
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": command(pod_uid=pod.uid, action=action),
                            "terminationMessagePolicy": "File",
                            "securityContext": security_context(),
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi"},
                                "limits": {"memory": "128Mi"},
                            },
                        }
                    ],
                },
            },
        },
    }


def selector(name: str) -> str:
    """The label selector of a cure Job's pod."""
    return f"{LABEL_CURE}={name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """What the cure reported: ``result`` one of broadcastroute's (added, present, foreign,
    removed, absent), or ``error`` when it failed."""

    result: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.error is None


def outcome(pod: Mapping[str, Any]) -> Outcome | None:
    """The cure's result from its pod's termination message; None while it runs."""
    status = raw.status(pod)
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated")
        if not terminated:
            continue
        try:
            document = json.loads(terminated.get("message") or "")
        except ValueError:
            document = {}
        if not isinstance(document, dict):
            document = {}
        if document.get("result") and "error" not in document:
            return Outcome(result=str(document["result"]), error=None)
        why = document.get("error") or terminated.get("reason") or "no result"
        return Outcome(result=None, error=f"exit {terminated.get('exitCode')}: {why}")
    if status.get("phase") == "Failed":
        return Outcome(result=None, error=str(status.get("message") or "the pod failed"))
    return None
