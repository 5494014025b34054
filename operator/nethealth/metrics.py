"""Prometheus metrics of the probe runs, and the operator's liveness endpoint.

Cardinality is bounded by construction: labels are the check (namespace/name), the
probe's class (6 values), the inconclusive reason (``results.Why``, 6 values), the pod's
state (7), the workload's remediation state (7) and reason (a condition ``Reason``), and,
only in the per-pod gauges, the pod: at most ``model.MAX_POD_RESULTS`` per check (the same
pods, worst first, as the check's status) and dropped when the pod leaves the check. A
pod's info series carries its class and the code of its top hint, one series per pod at a
time. Pod names never appear in counters, which would keep every pod that ever existed;
a deleted check's series go, counters included.

Exposition is ``prometheus_client``'s: the text format or OpenMetrics as the scraper asks,
escaping, gzip, and the standard process and Python collectors. The operator's own
families come from one custom collector (``Observer.collect``) that renders what the check
loops reported last, rather than from labelled ``Counter``/``Gauge`` children: a pod that
left a check, a deleted check or a deposed leader's view is simply not rendered again,
with no label sets to track and remove. Served with aiohttp (kopf's) on kopf's event loop,
so ``/healthz`` answering means that loop is not stuck.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

from prometheus_client import (
    exposition,
    gc_collector,
    metrics_core,
    platform_collector,
    process_collector,
    registry,
)

from nethealth import model
from nethealth.detection import reporting, results
from nethealth.remediation import prevention

if TYPE_CHECKING:
    from aiohttp import web

    Server = web.AppRunner

BUCKETS: Final = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)
PREFIX: Final = "nethealth"
# A hint's code ("PolicyRuleUnreachable"), the part of the status hint before its evidence;
# anything else (free text) is not a label value.
_HINT_CODE: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


@dataclasses.dataclass
class Histogram:
    counts: list[int] = dataclasses.field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    samples: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.samples += 1

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts by upper bound, as the exposition wants them."""
        bounds = [*(repr(b) for b in BUCKETS), "+Inf"]  # "5.0", as the library writes them
        cumulative = [sum(self.counts[: i + 1]) for i in range(len(bounds))]
        return list(zip(bounds, cumulative, strict=True))


@dataclasses.dataclass(frozen=True, kw_only=True)
class PodSeries:
    key: str  # namespace/name
    state: str
    klass: str  # "" before the first measurement
    hint: str  # the top hint's code, "" when none
    ratio: float | None  # None: never measured


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckView:
    """What the latest run of one check left: the source of its gauges."""

    pods: tuple[PodSeries, ...]  # worst first, at most MAX_POD_RESULTS
    states: Mapping[str, int]  # every PodState -> pods in it (zeros too)
    degraded: int
    inconclusive: int  # pods whose latest run could not measure them
    workloads: Mapping[tuple[str, str], int]  # (WorkloadState, reason) -> workloads
    last_run: float  # unix seconds
    interval: float
    deadline: float
    mode: str  # spec.remediation.mode
    protected: int = 0  # pods with the broadcast route from prevention (state Protected)


class Observer(registry.Collector):
    """Collects what the check loops report; ``registry`` serves it with the process and
    Python collectors, ``render`` gives its text exposition."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], int] = {}  # (check, class) -> pod runs
        self.inconclusive: dict[tuple[str, str], int] = {}  # (check, why) -> pod runs
        self.actions: dict[tuple[str, str], int] = {}  # (check, action) -> remediation actions
        self.late: dict[str, int] = {}  # check -> runs that started late
        self.duration = Histogram()
        self.checks: dict[str, CheckView] = {}  # check -> its latest run's gauges
        # Our own registry, not the library's global one: two Observers (tests) never
        # collide, and nothing else in the process can add families the docs do not list.
        self.registry = registry.CollectorRegistry()
        self.registry.register(self)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)

    def run_finished(
        self,
        *,
        check: str,
        spec: model.Spec,
        outcomes: Mapping[str, results.Outcome],
        views: Mapping[str, reporting.PodView],
        workloads: Iterable[model.WorkloadResult],
        started: datetime.datetime,
        finished: datetime.datetime,
    ) -> None:
        for outcome in outcomes.values():
            key = (check, str(outcome.run.klass))
            self.runs[key] = self.runs.get(key, 0) + 1
            if outcome.why is not None:
                why = (check, str(outcome.why))
                self.inconclusive[why] = self.inconclusive.get(why, 0) + 1
        self.duration.observe((finished - started).total_seconds())
        self.checks[check] = _view(spec=spec, views=views, workloads=workloads, finished=finished)

    def remediation_action(self, *, check: str, action: str) -> None:
        """One change (or attempt) to a workload; ``action`` is one of
        ``model.events.ACTIONS`` (5 values), so the labels stay bounded."""
        key = (check, action)
        self.actions[key] = self.actions.get(key, 0) + 1

    def run_late(self, *, check: str) -> None:
        """A run of the check started later than ``scheduling.late_after`` its due time."""
        self.late[check] = self.late.get(check, 0) + 1

    def check_gone(self, check: str) -> None:
        """A deleted check's series go, counters too: what the operator serves is bounded by
        the checks that exist, not by every check a GitOps repository ever had (Prometheus
        keeps the history; a check created again under the name counts from zero, which
        ``rate`` and ``increase`` read as a counter reset)."""
        self.checks.pop(check, None)
        self.late.pop(check, None)
        for counts in (self.runs, self.inconclusive, self.actions):
            for key in [key for key in counts if key[0] == check]:
                del counts[key]

    def deposed(self) -> None:
        """Leadership lost: every check's gauges go. The new leader reports them; a
        standby's last view beside it would keep a recovered pod Degraded under ``max``."""
        self.checks.clear()

    def render(self) -> str:
        return exposition.generate_latest(self.registry).decode()

    def collect(self) -> Iterator[metrics_core.Metric]:
        yield from self._counters()
        yield from self._pod_gauges()
        yield from self._check_gauges()
        yield metrics_core.HistogramMetricFamily(
            f"{PREFIX}_probe_run_duration_seconds",
            "A check's run, end to end.",
            buckets=self.duration.buckets(),
            sum_value=self.duration.total,
        )

    def _counters(self) -> Iterator[metrics_core.Metric]:
        yield _counter("probe_runs", "Pod measurements by the probe's class.", "class", self.runs)
        yield _counter(
            "probe_inconclusive",
            "Pod measurements that were inconclusive, by reason.",
            "reason",
            self.inconclusive,
        )
        yield _counter(
            "remediation_actions",
            "Changes to workloads, by action (patched, restarted, verified, ineffective, failed).",
            "action",
            self.actions,
        )

        late = metrics_core.CounterMetricFamily(
            f"{PREFIX}_check_runs_late",
            "Runs that started more than a tenth of the interval after they were due.",
            labels=["check"],
        )
        for check, count in sorted(self.late.items()):
            late.add_metric([check], count)
        yield late

    def _pod_gauges(self) -> Iterator[metrics_core.Metric]:
        ratio = _gauge("pod_failure_ratio", "Share of failed connects, last run.", ["pod"])
        info = _gauge(
            "pod_info",
            "1 per measured pod, with its state, class and top hint's code.",
            ["pod", "state", "class", "hint"],
        )
        for check, view in sorted(self.checks.items()):
            for pod in view.pods:
                info.add_metric([check, pod.key, pod.state, pod.klass, pod.hint], 1)
                if pod.ratio is not None:
                    ratio.add_metric([check, pod.key], pod.ratio)
        yield ratio
        yield info

    def _check_gauges(self) -> Iterator[metrics_core.Metric]:
        degraded = _gauge("degraded_pods", "Selected pods Degraded or Recovering.", [])
        states = _gauge("pods", "Selected pods by state.", ["state"])
        inconclusive = _gauge(
            "inconclusive_pods", "Selected pods whose latest run was inconclusive.", []
        )
        workloads = _gauge(
            "remediation_workloads",
            "Workloads in the remediation record, by state and reason.",
            ["state", "reason"],
        )
        last_run = _gauge(
            "check_last_run_timestamp_seconds", "When the check's latest run finished.", []
        )
        interval = _gauge("check_interval_seconds", "The check's spec.probe.interval.", [])
        deadline = _gauge("check_deadline_seconds", "The check's spec.probe.deadline.", [])
        info = _gauge("check_info", "1 per check, with its remediation mode.", ["mode"])
        protected = _gauge(
            "protected_pods",
            "Selected pods given the broadcast route by prevention (spec.remediation.prevention).",
            [],
        )
        for check, view in sorted(self.checks.items()):
            protected.add_metric([check], view.protected)
            degraded.add_metric([check], view.degraded)
            for state, count in view.states.items():
                states.add_metric([check, state], count)
            inconclusive.add_metric([check], view.inconclusive)
            for (state, reason), count in sorted(view.workloads.items()):
                workloads.add_metric([check, state, reason], count)
            last_run.add_metric([check], view.last_run)
            interval.add_metric([check], view.interval)
            deadline.add_metric([check], view.deadline)
            info.add_metric([check, view.mode], 1)
        yield from (degraded, states, inconclusive, workloads, last_run, interval, deadline, info)
        yield protected


def _view(
    *,
    spec: model.Spec,
    views: Mapping[str, reporting.PodView],
    workloads: Iterable[model.WorkloadResult],
    finished: datetime.datetime,
) -> CheckView:
    pods = tuple(
        PodSeries(
            key=v.ref.key,
            state=str(v.state),
            klass=str(v.record.klass or ""),
            hint=hint_code(v.hint),
            ratio=v.record.estimate.rate if v.record.estimate is not None else None,
        )
        for v in reporting.worst_first(views)
    )
    states = {str(s): 0 for s in model.PodState}
    for v in views.values():
        states[str(v.state)] += 1
    by_state: dict[tuple[str, str], int] = {}
    workloads = tuple(workloads)
    protected = prevention.count(workloads)
    for entry in workloads:
        key = (str(entry.state), entry.reason or "")
        by_state[key] = by_state.get(key, 0) + 1
    return CheckView(
        pods=pods,
        states=states,
        degraded=sum(v.record.state in reporting.DEGRADED_STATES for v in views.values()),
        inconclusive=sum(v.record.inconclusive_runs > 0 for v in views.values()),
        workloads=by_state,
        last_run=finished.timestamp(),
        interval=spec.probe.interval.total_seconds(),
        deadline=spec.probe.deadline.total_seconds(),
        mode=str(spec.remediation.mode),
        protected=protected,
    )


def hint_code(hint: str | None) -> str:
    """The code of a status hint ("Code: evidence"), or "" when it has none."""
    code = (hint or "").split(":", 1)[0].strip()
    return code if _HINT_CODE.fullmatch(code) else ""


def _counter(
    name: str, help_text: str, label: str, counts: Mapping[tuple[str, str], int]
) -> metrics_core.CounterMetricFamily:
    family = metrics_core.CounterMetricFamily(
        f"{PREFIX}_{name}", help_text, labels=["check", label]
    )
    for (check, value), count in sorted(counts.items()):
        family.add_metric([check, value], count)
    return family


def _gauge(name: str, help_text: str, labels: list[str]) -> metrics_core.GaugeMetricFamily:
    return metrics_core.GaugeMetricFamily(f"{PREFIX}_{name}", help_text, labels=["check", *labels])


async def serve(*, observer: Observer, port: int) -> Server:
    """Starts ``/metrics`` and ``/healthz`` on ``port``; returns the runner to clean up."""
    from aiohttp import web  # noqa: PLC0415 - kopf's dependency; operator-only
    from prometheus_client import aiohttp as prometheus_aiohttp  # noqa: PLC0415 - needs aiohttp

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", prometheus_aiohttp.make_aiohttp_handler(observer.registry))
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=port).start()
    return runner
