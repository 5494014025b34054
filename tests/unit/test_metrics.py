"""The metrics a run leaves: bounded labels, gauges that go with their pod or check, and an
exposition that prometheus_client's own parsers read back (text and OpenMetrics)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import urllib.request
from collections.abc import Iterable, Mapping

import operator_builders
import pytest
from prometheus_client import parser
from prometheus_client.openmetrics import parser as openmetrics_parser

from nethealth import metrics, model
from nethealth.detection import decision, reporting, results, selection
from nethealth.probe import types

THRESHOLD = model.Threshold(failure_rate=0.2, min_samples=20, consecutive_runs=1, recovery_runs=2)
SPEC = operator_builders.check(
    probe={"interval": "5m", "deadline": "2m"}, remediation={"mode": "Auto"}
).spec
STARTED = datetime.datetime(2026, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
FINISHED = STARTED + datetime.timedelta(seconds=12.5)


def _outcome(key: str, failures: int, *, hint: str | None = None) -> results.Outcome:
    klass = types.ProbeClass.POD_NAMESPACE if failures else types.ProbeClass.HEALTHY
    run = decision.RunResult(klass=klass, attempts=40, failures=failures, failure_blocks=None)
    return results.Outcome(key=key, run=run, hint=hint)


def _views(
    outcomes: Iterable[results.Outcome],
    *,
    previous: Mapping[str, reporting.PodView] | None = None,
) -> dict[str, reporting.PodView]:
    """The views the check loop would hold after a run with these outcomes."""
    before = previous or {}
    by_key = {o.key: o for o in outcomes}
    records = {
        key: decision.decide(
            previous=before[key].record if key in before else None, run=o.run, threshold=THRESHOLD
        )
        for key, o in by_key.items()
    }
    refs = {
        key: selection.PodRef(
            namespace=key.split("/")[0],
            name=key.split("/")[1],
            uid=f"uid-{key}",
            node="node-a",
            ip="198.51.100.10",
        )
        for key in by_key
    }
    return reporting.views_after_run(
        records=records, refs=refs, outcomes=by_key, previous=before, now=FINISHED
    )


def _observe(
    observer: metrics.Observer,
    outcomes: list[results.Outcome],
    *,
    check: str = "apps/web",
    previous: Mapping[str, reporting.PodView] | None = None,
    workloads: Iterable[model.WorkloadResult] = (),
) -> dict[str, reporting.PodView]:
    views = _views(outcomes, previous=previous)
    observer.run_finished(
        check=check,
        spec=SPEC,
        outcomes={o.key: o for o in outcomes},
        views=views,
        workloads=workloads,
        started=STARTED,
        finished=FINISHED,
    )
    return views


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the text exposition, read by prometheus_client's own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    samples = _samples(text)
    key = (name, frozenset(labels.items()))
    assert key in samples, f"{name}{labels} not served; served: {sorted(n for n, _ in samples)}"
    return samples[key]


def _series(text: str, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (series, labels) in _samples(text) if series == name]


def _workload(state: model.WorkloadState, reason: str | None, name: str) -> model.WorkloadResult:
    return model.WorkloadResult(
        kind="Deployment",
        namespace="apps",
        name=name,
        state=state,
        reason=reason,
        message=f"{name}: {state}",
        pods=(f"{name}-0",),
        patch=None,
        original=None,
        changed_at=None,
    )


def test_a_run_counts_results_by_class_and_sets_ratio_and_degraded_gauges() -> None:
    observer = metrics.Observer()
    bad = results.inconclusive(key="apps/c", why=results.Why.NOT_STARTED, reason="ErrImagePull")
    _observe(observer, [_outcome("apps/a", 0), _outcome("apps/b", 20), bad])
    text = observer.render()
    check = "apps/web"
    assert _value(text, "nethealth_probe_runs_total", check=check, **{"class": "Healthy"}) == 1
    assert _value(text, "nethealth_probe_runs_total", check=check, **{"class": "PodNamespace"}) == 1
    series = {"check": check, "reason": "ContainerNotStarted"}
    assert _value(text, "nethealth_probe_inconclusive_total", **series) == 1
    assert _value(text, "nethealth_pod_failure_ratio", check=check, pod="apps/b") == 0.5
    assert _value(text, "nethealth_degraded_pods", check=check) == 1
    assert _value(text, "nethealth_probe_run_duration_seconds_bucket", le="20.0") == 1
    assert _value(text, "nethealth_probe_run_duration_seconds_bucket", le="10.0") == 0
    assert _value(text, "nethealth_probe_run_duration_seconds_count") == 1
    assert _value(text, "nethealth_probe_run_duration_seconds_sum") == 12.5


def test_pods_that_left_and_deleted_checks_leave_no_series_behind() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/a", 0), _outcome("apps/b", 20)])
    _observe(observer, [_outcome("apps/a", 0)])
    text = observer.render()
    assert 'pod="apps/b"' not in text
    assert [s["pod"] for s in _series(text, "nethealth_pod_info")] == ["apps/a"]
    observer.check_gone("apps/web")
    text = observer.render()
    assert not [name for (name, labels) in _samples(text) if ("check", "apps/web") in labels]


def test_a_deleted_checks_counters_go_and_other_checks_keep_theirs() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/b", 20)])
    _observe(observer, [_outcome("other/b", 20)], check="other/web")
    observer.remediation_action(check="apps/web", action=model.EventReason.PODS_RESTARTED)
    observer.check_gone("apps/web")
    text = observer.render()
    assert {s["check"] for s in _series(text, "nethealth_probe_runs_total")} == {"other/web"}
    assert not _series(text, "nethealth_remediation_actions_total")
    assert _value(text, "nethealth_degraded_pods", check="other/web") == 1


def test_a_deposed_leader_drops_every_gauge_and_keeps_its_counters() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/b", 20)])
    _observe(observer, [_outcome("other/b", 20)], check="other/web")
    observer.deposed()
    text = observer.render()
    for gauge in ("nethealth_degraded_pods", "nethealth_pod_info", "nethealth_pods"):
        assert not _series(text, gauge), gauge
    assert not _series(text, "nethealth_check_last_run_timestamp_seconds")
    assert len(_series(text, "nethealth_probe_runs_total")) == 2


def test_label_values_are_escaped_so_a_parser_reads_them_back() -> None:
    observer = metrics.Observer()
    weird = 'apps/we"ird\\pod\nname'
    _observe(observer, [_outcome(weird, 20)])
    text = observer.render()
    assert _value(text, "nethealth_pod_failure_ratio", check="apps/web", pod=weird) == 0.5


def test_remediation_actions_are_counted_per_check_and_action() -> None:
    observer = metrics.Observer()
    observer.remediation_action(check="apps/web", action=model.EventReason.HOST_NETWORK_APPLIED)
    observer.remediation_action(check="apps/web", action=model.EventReason.HOST_NETWORK_APPLIED)
    observer.remediation_action(check="apps/web", action=model.EventReason.REMEDIATION_VERIFIED)
    text = observer.render()
    series = "nethealth_remediation_actions_total"
    assert _value(text, series, check="apps/web", action="HostNetworkApplied") == 2
    assert _value(text, series, check="apps/web", action="RemediationVerified") == 1


def test_a_pod_info_series_names_its_state_class_and_hint_code_never_the_evidence() -> None:
    observer = metrics.Observer()
    hint = "PolicyRuleUnreachable: policy rule 'pref 100 ipproto 6 dport 8080 unreachable'"
    _observe(observer, [_outcome("apps/b", 20, hint=hint), _outcome("apps/a", 0)])
    (degraded, healthy) = _series(observer.render(), "nethealth_pod_info")
    assert degraded == {
        "check": "apps/web",
        "pod": "apps/b",
        "state": "Degraded",
        "class": "PodNamespace",
        "hint": "PolicyRuleUnreachable",
    }
    assert healthy["state"] == "Healthy"
    assert healthy["hint"] == ""


def test_a_pod_whose_hint_changes_keeps_one_info_series() -> None:
    observer = metrics.Observer()
    views = _observe(observer, [_outcome("apps/b", 20, hint="PolicyRuleUnreachable: rule")])
    _observe(observer, [_outcome("apps/b", 20, hint="BurstyFailures: blocks")], previous=views)
    (info,) = _series(observer.render(), "nethealth_pod_info")
    assert info["hint"] == "BurstyFailures"


@pytest.mark.parametrize(
    ("hint", "code"),
    [
        ("KernelBroadcastRouteCache: per-CPU broadcast route", "KernelBroadcastRouteCache"),
        ("BurstyFailures", "BurstyFailures"),
        ("inconclusive: ErrImagePull", "inconclusive"),
        ("not a code: text", ""),
        ("", ""),
        (None, ""),
        ("X" * 65 + ": too long for a code", ""),
    ],
)
def test_only_a_hint_code_becomes_a_label_value(hint: str | None, code: str) -> None:
    assert metrics.hint_code(hint) == code


def test_per_pod_series_are_bounded_and_keep_the_worst_pods() -> None:
    observer = metrics.Observer()
    healthy = [_outcome(f"apps/a{i:03}", 0) for i in range(model.MAX_POD_RESULTS + 20)]
    _observe(observer, [*healthy, _outcome("apps/zz-degraded", 20)])
    text = observer.render()
    infos = _series(text, "nethealth_pod_info")
    assert len(infos) == model.MAX_POD_RESULTS
    assert infos[0]["pod"] == "apps/zz-degraded"
    assert len(_series(text, "nethealth_pod_failure_ratio")) == model.MAX_POD_RESULTS
    assert _value(text, "nethealth_pods", check="apps/web", state="Healthy") == (
        model.MAX_POD_RESULTS + 20
    )


def test_pods_are_counted_by_every_state_zeros_included() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/a", 0), _outcome("apps/b", 20)])
    counted = {
        s["state"]: _value(observer.render(), "nethealth_pods", **s)
        for s in _series(observer.render(), "nethealth_pods")
    }
    assert counted == {str(state): 0 for state in model.PodState} | {
        "Healthy": 1,
        "Degraded": 1,
    }


def test_a_degraded_pod_whose_latest_run_was_inconclusive_counts_as_inconclusive() -> None:
    observer = metrics.Observer()
    views = _observe(observer, [_outcome("apps/b", 20)])
    assert _value(observer.render(), "nethealth_inconclusive_pods", check="apps/web") == 0
    blind = results.inconclusive(key="apps/b", why=results.Why.NOT_FINISHED, reason="deadline")
    _observe(observer, [blind], previous=views)
    text = observer.render()
    assert _value(text, "nethealth_inconclusive_pods", check="apps/web") == 1
    assert _value(text, "nethealth_degraded_pods", check="apps/web") == 1  # it stays Degraded


def test_workloads_are_counted_by_remediation_state_and_reason() -> None:
    observer = metrics.Observer()
    workloads = [
        _workload(model.WorkloadState.BLOCKED, "HostPortConflict", "a"),
        _workload(model.WorkloadState.BLOCKED, "HostPortConflict", "b"),
        _workload(model.WorkloadState.REVERTED_BY_OTHER, "RevertedByOtherManager", "c"),
        _workload(model.WorkloadState.VERIFYING, None, "d"),
    ]
    _observe(observer, [_outcome("apps/b", 20)], workloads=workloads)
    text = observer.render()
    series = "nethealth_remediation_workloads"
    check = "apps/web"
    assert _value(text, series, check=check, state="Blocked", reason="HostPortConflict") == 2
    reverted = {"state": "RevertedByOtherManager", "reason": "RevertedByOtherManager"}
    assert _value(text, series, check=check, **reverted) == 1
    assert _value(text, series, check=check, state="Verifying", reason="") == 1
    _observe(observer, [_outcome("apps/b", 0)], workloads=())
    assert not _series(observer.render(), series)


def test_a_run_says_when_it_finished_and_how_often_and_how_long_the_check_may_run() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/a", 0)])
    text = observer.render()
    check = "apps/web"
    last = _value(text, "nethealth_check_last_run_timestamp_seconds", check=check)
    assert last == FINISHED.timestamp()
    assert _value(text, "nethealth_check_interval_seconds", check=check) == 300
    assert _value(text, "nethealth_check_deadline_seconds", check=check) == 120


def test_a_check_names_its_remediation_mode() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/a", 0)])
    assert _series(observer.render(), "nethealth_check_info") == [
        {"check": "apps/web", "mode": "Auto"}
    ]


def test_the_process_and_python_collectors_are_served_beside_the_operators_families() -> None:
    names = {f.name for f in parser.text_string_to_metric_families(metrics.Observer().render())}
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "python_info"} <= names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, *, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


async def _scrape(observer: metrics.Observer, *, accept: str | None, path: str) -> tuple[str, str]:
    port = _free_port()
    runner = await metrics.serve(observer=observer, port=port)
    try:
        url = f"http://127.0.0.1:{port}{path}"
        return await asyncio.to_thread(_get, url, accept=accept)
    finally:
        await runner.cleanup()


def test_the_endpoint_serves_text_to_a_plain_scraper() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/b", 20)])
    kind, body = asyncio.run(_scrape(observer, accept=None, path="/metrics"))
    assert kind.startswith("text/plain; version=0.0.4")
    assert _value(body, "nethealth_degraded_pods", check="apps/web") == 1


def test_the_endpoint_serves_openmetrics_to_a_scraper_that_asks_for_it() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/b", 20)])
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    kind, body = asyncio.run(_scrape(observer, accept=accept, path="/metrics"))
    assert kind.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")
    families = {f.name: f for f in openmetrics_parser.text_string_to_metric_families(body)}
    assert families["nethealth_probe_runs"].type == "counter"
    (degraded,) = families["nethealth_degraded_pods"].samples
    assert degraded.value == 1


def test_healthz_answers_on_the_metrics_port() -> None:
    kind, body = asyncio.run(_scrape(metrics.Observer(), accept=None, path="/healthz"))
    assert body == "ok\n"
    assert kind.startswith("text/plain")
