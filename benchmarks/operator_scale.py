"""Operator scale on the real API server: N checks selecting M pods on K kubelet-less nodes.

Creates (all labelled ``nethealth.bench/scale=<run>``; see ``fakecluster``):

- K fake nodes (default 100), kept Ready by renewing their Leases, tainted so nothing else
  is scheduled there;
- S namespaces (default 10) holding M pods (default 10,000) created bound to the fake
  nodes and marked Running with an IP;
- N NetHealthChecks (default 1,000), check i selecting its M/N pods (label ``app=c<i>``),
  which sit on ``--nodes-per-check`` nodes (default 1: one probe Job per check and run,
  the fewest the operator's one-Job-per-node-and-run design needs; more nodes per check
  multiply the Jobs).

A helper in this process completes every probe pod the scheduler binds to a fake node with
a healthy probe result built by the project's own probe code, so the Job controller
finishes the Job and the operator reads a real-looking result.

Then it measures, in turn, two processes watching the benchmark's namespaces:

1. **an empty kopf operator** (``empty_kopf_operator.py``: watches NetHealthChecks, Jobs
   and Pods, does nothing), after its initial listing has settled, over
   ``--baseline-window``;
2. **the nethealth operator** (``nethealth operator``, as deployed but watching only the
   benchmark's namespaces): the time until every check has reported once (its
   ``status.lastRunTime`` is set), then over ``--window`` (default one interval) of
   steady state.

For each: peak RSS (``VmHWM``), CPU seconds per interval (and cores), API requests by verb
per interval (``apiserver_request_total`` deltas: cluster-wide, so they include the
controllers and scheduler working for the operator's Jobs, the benchmark's own helpers,
listed separately, and anyone else using the cluster), status writes per check per
interval (from a watch on the checks); then the ratio. Goals (issue 8): RSS ≤ 300 MiB,
≤ 1 status write per check per interval, ≤ 0.5 core.

Everything it created is deleted at the end, also on Ctrl-C or SIGTERM;
``--cleanup-leftovers`` deletes what a killed run left (by the label).

    .venv/bin/python benchmarks/operator_scale.py                      # 1000/10000/100, ~15 min
    .venv/bin/python benchmarks/operator_scale.py --checks 5 --pods 20 --nodes 2 \\
        --interval 30s --window 30s --baseline-window 10s              # tiny
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import apimetrics  # noqa: E402 (sibling modules)
import benchcluster  # noqa: E402
import fakecluster  # noqa: E402
import procstats  # noqa: E402
import scaleobjects  # noqa: E402

from nethealth.devcluster import images  # noqa: E402

RSS_GOAL_MIB = 300.0
CORES_GOAL = 0.5
WRITES_GOAL = 1.0
# Runs per check per interval, extrapolated from a window shorter than the interval, are
# sampled: with runs spread evenly, a window holds its share of them within a few percent.
RUNS_TOLERANCE = 0.05
SETTLE_CORES = 0.05  # the baseline has settled when it uses less CPU than this
SETTLE_MAX_SECONDS = 300.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figures:
    """What one process cost, normalised to one check interval."""

    peak_rss_mib: float
    cpu_per_interval: float  # CPU seconds
    cores: float
    requests: collections.Counter[str]  # cluster-wide, per interval
    helper_requests: collections.Counter[str]  # the benchmark's own, per interval
    writes_per_check: float | None = None  # status writes per check per interval
    runs_per_check: float | None = None  # runs finished per check per interval
    share_ran: float | None = None  # checks that finished a run within the window
    late_checks: int | None = None  # checks whose latest run started late, at the end
    probe_jobs: float | None = None  # probe Jobs (their pods, one each) per interval
    all_reported_s: float | None = None  # from the operator's start
    reported: int = 0


# --- processes ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(
    argv: list[str],
    *,
    kubeconfig: pathlib.Path,
    log: pathlib.Path,
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "NETHEALTH_NAMESPACE": "nethealth-system",
        "NETHEALTH_PROBE_IMAGE": images.NETHEALTH_IMAGE,
        "NETHEALTH_METRICS_PORT": str(_free_port()),
        **(extra_env or {}),
    }
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            argv, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[1:3]} exited early ({proc.returncode}):\n{_tail(log)}")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _tail(log: pathlib.Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        return log.read_text(errors="replace")[-3000:]
    return ""


def settle(pid: int) -> float:
    """Waits until the process idles after its initial listing; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_MAX_SECONDS:
        before = procstats.cpu_seconds(pid)
        time.sleep(3)
        if (procstats.cpu_seconds(pid) - before) / 3 < SETTLE_CORES:
            break
    return time.monotonic() - started


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    cpu: float
    seconds: float
    requests: collections.Counter[str]
    helper: collections.Counter[str]
    writes: int
    runs: int
    checks_ran: int
    probe_pods: int


def window(
    *,
    pid: int,
    api: Any,
    counted: fakecluster.Counted,
    watcher: scaleobjects.CheckWatcher,
    completer: fakecluster.Completer,
    seconds: float,
    alive: Callable[[], None],
) -> Window:
    cpu0, req0, help0, t0 = (
        procstats.cpu_seconds(pid),
        apimetrics.by_verb(apimetrics.scrape(api)),
        counted.snapshot(),
        time.monotonic(),
    )
    pods0 = completer.completed
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        alive()
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    t1 = time.monotonic()
    cpu1 = procstats.cpu_seconds(pid)
    req1 = apimetrics.by_verb(apimetrics.scrape(api))
    runs, checks_ran = watcher.runs_between(t0, t1)
    return Window(
        runs=runs,
        checks_ran=checks_ran,
        probe_pods=completer.completed - pods0,
        cpu=cpu1 - cpu0,
        seconds=t1 - t0,
        requests=apimetrics.delta(req0, req1),
        helper=apimetrics.delta(help0, counted.snapshot()),
        writes=watcher.writes_between(t0, t1),
    )


def _per_interval(counts: collections.Counter[str], scale: float) -> collections.Counter[str]:
    return collections.Counter({k: round(v * scale) for k, v in counts.items()})


def figures(
    measured: Window,
    *,
    pid: int,
    interval: float,
    checks: int,
    count_writes: bool,
    all_reported_s: float | None = None,
    reported: int = 0,
) -> Figures:
    scale = interval / measured.seconds
    return Figures(
        peak_rss_mib=procstats.peak_rss_mib(pid),
        cpu_per_interval=measured.cpu * scale,
        cores=measured.cpu / measured.seconds,
        requests=_per_interval(measured.requests, scale),
        helper_requests=_per_interval(measured.helper, scale),
        writes_per_check=measured.writes * scale / checks if count_writes else None,
        runs_per_check=measured.runs * scale / checks if count_writes else None,
        share_ran=measured.checks_ran / checks if count_writes else None,
        probe_jobs=measured.probe_pods * scale,
        all_reported_s=all_reported_s,
        reported=reported,
    )


# --- the two phases -------------------------------------------------------------------


def measure_baseline(
    *, layout: scaleobjects.Layout, kubeconfig: pathlib.Path, logs: pathlib.Path, **common: Any
) -> Figures:
    argv = [sys.executable, str(HERE / "empty_kopf_operator.py")]
    for namespace in layout.namespaces:
        argv += ["--namespace", namespace]
    log = logs / "empty-kopf.log"
    with process(argv, kubeconfig=kubeconfig, log=log) as proc:
        pid = proc.pid
        waited = settle(pid)
        print(f"empty kopf operator: settled after {waited:.0f} s; measuring", flush=True)
        measured = window(
            pid=pid, seconds=common.pop("baseline_window"), alive=_alive(proc, log), **common
        )
        return figures(
            measured,
            pid=pid,
            interval=layout.interval,
            checks=len(layout.checks),
            count_writes=False,
        )


def measure_operator(
    *,
    layout: scaleobjects.Layout,
    kubeconfig: pathlib.Path,
    logs: pathlib.Path,
    report_timeout: float,
    batch: bool = False,
    **common: Any,
) -> Figures:
    argv = [sys.executable, "-m", "nethealth", "operator"]
    for namespace in layout.namespaces:
        argv += ["--namespace", namespace]
    log = logs / "operator.log"
    watcher: scaleobjects.CheckWatcher = common["watcher"]
    started = time.monotonic()
    extra = {"NETHEALTH_BATCH_PROBE_JOBS": "true"} if batch else None
    with process(argv, kubeconfig=kubeconfig, log=log, extra_env=extra) as proc:
        pid = proc.pid
        alive = _alive(proc, log)
        total = len(layout.checks)
        last_print = started
        while watcher.reported() < total and time.monotonic() - started < report_timeout:
            alive()
            time.sleep(1)
            if time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                print(
                    f"  {watcher.reported()} of {total} checks reported after"
                    f" {last_print - started:.0f} s; RSS {procstats.rss_mib(pid):.0f} MiB",
                    flush=True,
                )
        reported = watcher.reported()
        all_reported = time.monotonic() - started if reported == total else None
        shown = f"{all_reported:.0f} s" if all_reported is not None else "not within the timeout"
        print(f"operator: {reported} of {total} checks reported, all: {shown}; measuring")
        measured = window(pid=pid, seconds=common.pop("window"), alive=alive, **common)
        print(
            f"operator: RSS {procstats.rss_mib(pid):.0f} MiB at the end of the window"
            f" (peak {procstats.peak_rss_mib(pid):.0f} MiB)"
        )
        found = figures(
            measured,
            pid=pid,
            interval=layout.interval,
            checks=total,
            count_writes=True,
            all_reported_s=all_reported,
            reported=reported,
        )
        return dataclasses.replace(found, late_checks=watcher.late())


def _alive(proc: subprocess.Popen[bytes], log: pathlib.Path) -> Callable[[], None]:
    def check() -> None:
        if proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.pid} exited ({proc.returncode}) during the measurement:\n"
                + _tail(log)
            )

    return check


# --- output ---------------------------------------------------------------------------


def _ratio(ours: float, base: float) -> str:
    return f"{ours / base:.1f}x" if base > 0 else "-"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(*, ours: Figures, base: Figures | None, layout: scaleobjects.Layout) -> str:
    def b(value: Callable[[Figures], str]) -> str:
        return value(base) if base is not None else "-"

    def r(value: Callable[[Figures], float]) -> str:
        return _ratio(value(ours), value(base)) if base is not None else "-"

    interval = f"{layout.interval:g} s"
    rows = [
        "| figure | nethealth | empty kopf | ratio | goal | verdict |",
        "|---|---|---|---|---|---|",
        f"| peak RSS | {ours.peak_rss_mib:.0f} MiB | {b(lambda f: f'{f.peak_rss_mib:.0f} MiB')}"
        f" | {r(lambda f: f.peak_rss_mib)} | ≤ {RSS_GOAL_MIB:.0f} MiB"
        f" | {_verdict(ours.peak_rss_mib <= RSS_GOAL_MIB)} |",
        f"| CPU per interval ({interval}) | {ours.cpu_per_interval:.1f} s ({ours.cores:.3f} core)"
        f" | {b(lambda f: f'{f.cpu_per_interval:.1f} s ({f.cores:.3f} core)')}"
        f" | {r(lambda f: f.cpu_per_interval)} | ≤ {CORES_GOAL} core"
        f" | {_verdict(ours.cores <= CORES_GOAL)} |",
    ]
    writes = ours.writes_per_check or 0.0
    rows.append(
        f"| status writes per check per interval | {writes:.2f} | - | - | ≤ {WRITES_GOAL:g}"
        f" | {_verdict(writes <= WRITES_GOAL)} |"
    )
    reported = (
        f"{ours.all_reported_s:.0f} s"
        if ours.all_reported_s is not None
        else f"not all: {ours.reported} of {len(layout.checks)} within the timeout"
    )
    rows.append(f"| time until every check reported once | {reported} | - | - | - | - |")
    runs = ours.runs_per_check or 0.0
    rows.append(
        f"| runs finished per check per interval | {runs:.2f} | - | - | ≥ 1"
        f" | {_verdict(runs >= 1.0 - RUNS_TOLERANCE)} |"
    )
    rows.append(
        f"| checks that finished a run in the window | {(ours.share_ran or 0) * 100:.1f} %"
        " | - | - | - | - |"
    )
    late = ours.late_checks or 0
    rows.append(
        f"| checks whose latest run started late (OnSchedule False) | {late} | - | - | 0"
        f" | {_verdict(late == 0)} |"
    )
    rows.append(f"| probe Jobs per interval | {ours.probe_jobs or 0:.0f} | - | - | - | - |")
    verbs = sorted(set(ours.requests) | set(base.requests if base else ()))
    for verb in verbs:
        rows.append(
            f"| API requests per interval, {verb} | {ours.requests[verb]}"
            f" | {b(lambda f, v=verb: str(f.requests[v]))}"
            f" | {r(lambda f, v=verb: float(f.requests[v]))} | - | - |"
        )
    total = sum(ours.requests.values())
    rows.append(
        f"| API requests per interval, all | {total} | {b(lambda f: str(sum(f.requests.values())))}"
        f" | {r(lambda f: float(sum(f.requests.values())))} | - | - |"
    )
    checks = len(layout.checks)
    rows.append(
        f"| API requests per check per interval, all | {total / checks:.1f}"
        f" | {b(lambda f: f'{sum(f.requests.values()) / checks:.1f}')} | - | - | - |"
    )
    helper = ", ".join(f"{v} {n}" for v, n in sorted(ours.helper_requests.items()))
    base_helper = (
        ", ".join(f"{v} {n}" for v, n in sorted(base.helper_requests.items())) if base else "-"
    )
    rows.append(
        f"| of which the benchmark's helpers | {helper or 0} | {base_helper or 0} | - | - | - |"
    )
    return "\n".join(rows)


# --- main -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = scaleobjects.parse_args(argv)
    if args.cleanup_leftovers:
        with benchcluster.kubeconfig(args.kubeconfig) as kubeconfig:
            api = scaleobjects.client(kubeconfig, workers=args.workers)
            scaleobjects.delete_leftovers(api, run=None)
        return 0
    run = f"nhs-{secrets.token_hex(3)}"
    layout = scaleobjects.layout(args, run=run)
    print(
        f"operator scale {run}: {len(layout.checks)} checks, {layout.pod_count} pods,"
        f" {len(layout.nodes)} fake nodes, {len(layout.namespaces)} namespaces,"
        f" {args.nodes_per_check} node(s) per check, interval {layout.interval:g} s",
        flush=True,
    )
    if args.window < layout.interval:
        print(
            "note: --window is shorter than the interval: per-interval figures are"
            " extrapolated from it and may miss (or double) runs",
            flush=True,
        )
    with (
        benchcluster.sigterm_unwinds(),
        benchcluster.kubeconfig(args.kubeconfig) as kubeconfig,
        tempfile.TemporaryDirectory(prefix="nhb-scale-") as scratch,
    ):
        api = scaleobjects.client(kubeconfig, workers=args.workers)
        counted = fakecluster.Counted()
        keeper = fakecluster.LeaseKeeper(api, nodes=layout.nodes, run=run, counted=counted)
        completer = fakecluster.Completer(api, nodes=layout.nodes, counted=counted)
        watcher = scaleobjects.CheckWatcher(api, run=run)
        try:
            scaleobjects.install_crd(api)
            scaleobjects.create(api, layout=layout, keeper=keeper, counted=counted)
            completer.start()
            watcher.start()
            common = {"api": api, "counted": counted, "watcher": watcher, "completer": completer}
            logs = pathlib.Path(scratch)
            base = None
            if args.baseline_window > 0:
                base = measure_baseline(
                    layout=layout,
                    kubeconfig=kubeconfig,
                    logs=logs,
                    baseline_window=args.baseline_window,
                    **common,
                )
            ours = measure_operator(
                layout=layout,
                kubeconfig=kubeconfig,
                logs=logs,
                report_timeout=args.report_timeout,
                batch=args.batch_probe_jobs,
                window=args.window,
                **common,
            )
        finally:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup runs to the end
            try:
                print("cleaning up", flush=True)
                for helper in (watcher, completer, keeper):
                    helper.stop()
                scaleobjects.delete_leftovers(api, run=run)
            finally:
                signal.signal(signal.SIGINT, previous)
    print()
    print(f"probe pods completed by the helper: {completer.completed}")
    print(table(ours=ours, base=base, layout=layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
