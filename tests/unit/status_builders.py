"""The status the operator writes, built by its own ``reporting.status_patch`` for a check
in namespace apps at NOW: a test passes only the arguments its case is about."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from nethealth import model
from nethealth.detection import acceptance, reporting

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
NEXT_RUN = NOW + datetime.timedelta(minutes=1)
READY = acceptance.Acceptance(ready=True, reason=model.Reason.RUNNING, message="1 pod(s) selected")


def status_patch(
    *,
    current: Mapping[str, Any] | None = None,
    verdict: acceptance.Acceptance = READY,
    views: Mapping[str, reporting.PodView] | None = None,
    generation: int = 7,
    last_run: datetime.datetime | None = None,
    next_run: datetime.datetime | None = None,
    remediation: reporting.RemediationView | None = None,
) -> dict[str, Any]:
    """By default: a Ready check's status when nothing has run (no pods, no run times)."""
    return reporting.status_patch(
        current=current or {},
        verdict=verdict,
        views=views,
        generation=generation,
        check_namespace="apps",
        now=NOW,
        last_run=last_run,
        next_run=next_run,
        remediation=remediation,
    )
