"""A test's check, read until its status says what the test waits for: one of its pods in a
state, the remediation of a workload in a state, a run after a given one.

Each wait is ``operator_harness.wait_for`` with its condition written once, so a test says
in a line what it waits for and how long; on a timeout the message names the wait and
shows the last status read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import operator_harness as h
from kubernetes import client


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    api_client: client.ApiClient
    namespace: str
    name: str

    def until(
        self, *, what: str, timeout: float, until: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The check once ``until`` holds for it (a condition no method below names)."""
        return h.wait_for(
            self.api_client,
            namespace=self.namespace,
            name=self.name,
            until=until,
            timeout=timeout,
            what=what,
        )

    def pod_reaches(
        self, *, pod: str, state: str, timeout: float, what: str | None = None
    ) -> dict[str, Any]:
        """The check once its status shows ``pod`` in ``state``."""
        return self.until(
            what=what or f"pod {pod} {state}",
            timeout=timeout,
            until=lambda o: h.pod_state(o, pod) == state,
        )

    def remediation_reaches(
        self, *, workload: str, state: str, timeout: float, what: str | None = None
    ) -> dict[str, Any]:
        """The check once its ``status.remediation`` entry of ``workload`` is in ``state``."""
        return self.until(
            what=what or f"remediation of {workload} {state}",
            timeout=timeout,
            until=lambda o: h.remediation_entry(o, workload).get("state") == state,
        )

    def next_run(self, *, after: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        """The check once it has finished a run later than the one ``after`` shows."""
        last = after["status"]["lastRunTime"]
        return self.until(
            what=what, timeout=timeout, until=lambda o: o["status"]["lastRunTime"] > last
        )
