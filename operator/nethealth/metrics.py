"""Prometheus metrics of the probe runs, and the operator's liveness endpoint.

Cardinality is bounded by construction: labels are the check (namespace/name), the
probe's class (6 values), the inconclusive reason (``results.Why``, 6 values) and, only
for the per-pod failure ratio, the pod, at most ``model.MAX_POD_RESULTS`` per check and
dropped when the pod leaves the check. Pod names never appear in counters, which would
keep every pod that ever existed.

The text exposition format (version 0.0.4) is written here rather than with
``prometheus_client``: the handful of series needs no library, and the probe image (the
same image) stays without one more dependency. Served with aiohttp, which kopf brings.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from nethealth import model
from nethealth.detection import decision, results

if TYPE_CHECKING:
    from aiohttp import web

    Server = web.AppRunner

BUCKETS: Final = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)
PREFIX: Final = "nethealth"


@dataclasses.dataclass
class Histogram:
    counts: list[int] = dataclasses.field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    samples: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.samples += 1


class Observer:
    """Collects what the check loops report; ``render`` gives the exposition text."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], int] = {}  # (check, class) -> pod runs
        self.inconclusive: dict[tuple[str, str], int] = {}  # (check, why) -> pod runs
        self.ratios: dict[str, dict[str, float]] = {}  # check -> pod -> failure ratio
        self.degraded: dict[str, int] = {}  # check -> degraded pods
        self.actions: dict[tuple[str, str], int] = {}  # (check, action) -> remediation actions
        self.duration = Histogram()

    def run_finished(
        self,
        *,
        check: str,
        outcomes: Mapping[str, results.Outcome],
        records: Mapping[str, decision.PodRecord],
        seconds: float,
    ) -> None:
        for outcome in outcomes.values():
            key = (check, str(outcome.run.klass))
            self.runs[key] = self.runs.get(key, 0) + 1
            if outcome.why is not None:
                why = (check, str(outcome.why))
                self.inconclusive[why] = self.inconclusive.get(why, 0) + 1
        ratios = {
            pod: record.estimate.rate
            for pod, record in sorted(records.items())
            if record.estimate is not None
        }
        self.ratios[check] = dict(list(ratios.items())[: model.MAX_POD_RESULTS])
        self.degraded[check] = sum(
            r.state in (model.PodState.DEGRADED, model.PodState.RECOVERING)
            for r in records.values()
        )
        self.duration.observe(seconds)

    def remediation_action(self, *, check: str, action: str) -> None:
        """One change (or attempt) to a workload; ``action`` is one of
        ``model.events.ACTIONS`` (5 values), so the labels stay bounded."""
        key = (check, action)
        self.actions[key] = self.actions.get(key, 0) + 1

    def check_gone(self, check: str) -> None:
        """A deleted check's gauges go (its counters stay, as counters do)."""
        self.ratios.pop(check, None)
        self.degraded.pop(check, None)

    def render(self) -> str:
        lines: list[str] = []
        _family(lines, "probe_runs_total", "counter", "Pod measurements by the probe's class.")
        for (check, klass), count in sorted(self.runs.items()):
            lines.append(_sample("probe_runs_total", {"check": check, "class": klass}, count))
        _family(
            lines,
            "probe_inconclusive_total",
            "counter",
            "Pod measurements that were inconclusive, by reason.",
        )
        for (check, why), count in sorted(self.inconclusive.items()):
            lines.append(
                _sample("probe_inconclusive_total", {"check": check, "reason": why}, count)
            )
        _family(lines, "pod_failure_ratio", "gauge", "Share of failed connects, last run.")
        for check, pods in sorted(self.ratios.items()):
            for pod, ratio in pods.items():
                lines.append(_sample("pod_failure_ratio", {"check": check, "pod": pod}, ratio))
        _family(lines, "degraded_pods", "gauge", "Selected pods Degraded or Recovering.")
        for check, count in sorted(self.degraded.items()):
            lines.append(_sample("degraded_pods", {"check": check}, count))
        _family(
            lines,
            "remediation_actions_total",
            "counter",
            "Changes to workloads, by action (patched, restarted, verified, ineffective, failed).",
        )
        for (check, action), count in sorted(self.actions.items()):
            lines.append(
                _sample("remediation_actions_total", {"check": check, "action": action}, count)
            )
        _family(lines, "probe_run_duration_seconds", "histogram", "A check's run, end to end.")
        cumulative = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.duration.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            lines.append(_sample("probe_run_duration_seconds_bucket", {"le": le}, cumulative))
        lines.append(_sample("probe_run_duration_seconds_sum", {}, self.duration.total))
        lines.append(_sample("probe_run_duration_seconds_count", {}, self.duration.samples))
        return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {PREFIX}_{name} {help_text}")
    lines.append(f"# TYPE {PREFIX}_{name} {kind}")


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        return f"{PREFIX}_{name}{{{inner}}} {value:g}"
    return f"{PREFIX}_{name} {value:g}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def serve(*, observer: Observer, port: int) -> Server:
    """Starts ``/metrics`` and ``/healthz`` on ``port``; returns the runner to clean up."""
    from aiohttp import web  # noqa: PLC0415 - kopf's dependency; operator-only

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=observer.render(), content_type="text/plain", charset="utf-8")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=port).start()
    return runner
