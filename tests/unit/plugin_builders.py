"""Hand-built inputs for the kubectl plugin's pure tests: real probe documents (classified
and built by the probe's own code), a one-off Job from ``jobs.one_off``, its pod."""

from __future__ import annotations

import datetime
import errno
import json
from typing import Any

from probe_builders import attempts, evidence, kernel, measured, unmeasured

from nethealth.detection import jobs, selection
from nethealth.plugin import diagnosis, options
from nethealth.probe import classify, report, types

STARTED = datetime.datetime(2026, 2, 15, 12, 0, 0, tzinfo=datetime.UTC)
SPREAD = 6.0
TARGET = types.Target(name="api", host="203.0.113.1", port=443)
POD = selection.PodRef(namespace="apps", name="ha", uid="uid-ha", node="node-a", ip="198.51.100.10")
SESSION = "0123abcd"
IMAGE = "localhost/nethealth/nethealth:0.1.0"
# The on/off fault of the e2e tests: 2 s on, 2 s off, 30 connects over 6 s (0.2 s apart).
ON_OFF = "..........xxxxxxxxxx.........."


def document(
    target: str = ON_OFF,
    control: str | None = None,
    host: str | None = None,
    *,
    code: int = errno.ENETUNREACH,
    host_error: str | None = None,
    ev: types.Evidence | None = None,
) -> dict[str, Any]:
    """A full probe result: pictures ('.' ok, 'x' failed) per namespace, 0.2 s apart."""
    control = control if control is not None else "." * len(target)
    host_measurement = (
        unmeasured(types.Role.HOST, host_error)
        if host_error
        else measured(
            types.Role.HOST, _series(host if host is not None else "." * len(target), code)
        )
    )
    measurements = [
        measured(types.Role.TARGET, _series(target, code)),
        measured(types.Role.CONTROL, _series(control, code)),
        host_measurement,
    ]
    assessed = kernel(types.KernelStatus.FIXED, fixed_in="6.12.45")
    verdict = classify.classify(measurements=measurements, evidence=ev, kernel=assessed)
    return report.build(
        verdict=verdict,
        measurements=measurements,
        evidence=ev,
        kernel=assessed,
        targets=[TARGET],
        started=STARTED,
        finished=STARTED + datetime.timedelta(seconds=SPREAD + 1),
        probe_info={"version": "0.1.0", "options": {"attempts": len(target), "spread": SPREAD}},
    )


def _series(picture: str, code: int) -> tuple[types.Attempt, ...]:
    return attempts(picture, target=TARGET.name, address=TARGET.host, code=code, spacing=0.2)


def degraded_evidence() -> types.Evidence:
    rule = types.PolicyRule(
        family=2,
        priority=100,
        action="unreachable",
        selectors=("ipproto 6", "dport 443"),
    )
    return evidence(rules=(rule,))


def job(*, condition: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """The one-off Job ``diagnose`` creates, as the API returns it."""
    spec = options.probe_spec(
        targets=[TARGET], attempts=30, spread=SPREAD, connect_timeout=1.0, timeout=60.0
    )
    made = jobs.one_off(pod=POD, hostname="node-a", spec=spec, image=IMAGE, session=SESSION)
    if condition:
        made["status"] = {
            "conditions": [{"type": condition, "status": "True", "reason": reason or ""}]
        }
    return made


def pod(
    *states: dict[str, Any], phase: str = "Running", node: str | None = "node-a"
) -> dict[str, Any]:
    """The Job's pod with the probe container in each given state."""
    statuses = [{"name": "probe-0", "state": state} for state in states]
    return {
        "metadata": {
            "name": "nhd-ha-0123abcd-x7k2p",
            "namespace": "apps",
            "creationTimestamp": "2026-02-15T12:00:00Z",
        },
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, "containerStatuses": statuses},
    }


def terminated(doc: dict[str, Any] | None, *, exit_code: int = 1) -> dict[str, Any]:
    """The probe container's end: the compact document as its termination message."""
    message = report.compact(doc) if doc is not None else ""
    return {"terminated": {"exitCode": exit_code, "reason": "Error", "message": message}}


def log_of(doc: dict[str, Any], *, stderr: str = "") -> str:
    """The container's log: the probe's stdout (the full document), stderr around it."""
    return stderr + json.dumps(doc, indent=2) + "\n"


def subject() -> diagnosis.Subject:
    return diagnosis.Subject(
        namespace=POD.namespace,
        name=POD.name,
        node=POD.node,
        job=job()["metadata"]["name"],
        image=IMAGE,
    )
