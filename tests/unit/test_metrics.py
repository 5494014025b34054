"""The metrics a run leaves: bounded labels, parseable exposition text."""

from __future__ import annotations

import re

from nethealth import metrics, model
from nethealth.detection import decision, results
from nethealth.probe import types

THRESHOLD = model.Threshold(failure_rate=0.2, min_samples=20, consecutive_runs=1, recovery_runs=2)


def _outcome(key: str, failures: int) -> results.Outcome:
    klass = types.ProbeClass.POD_NAMESPACE if failures else types.ProbeClass.HEALTHY
    run = decision.RunResult(klass=klass, attempts=40, failures=failures, failure_blocks=None)
    return results.Outcome(key=key, run=run)


def _observe(observer: metrics.Observer, outcomes: list[results.Outcome]) -> None:
    records = {
        o.key: decision.decide(previous=None, run=o.run, threshold=THRESHOLD) for o in outcomes
    }
    observer.run_finished(
        check="apps/web", outcomes={o.key: o for o in outcomes}, records=records, seconds=12.5
    )


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in:\n{text}"
    return float(match.group(1))


def test_a_run_counts_results_by_class_and_sets_ratio_and_degraded_gauges() -> None:
    observer = metrics.Observer()
    bad = results.inconclusive(key="apps/c", why=results.Why.NOT_STARTED, reason="ErrImagePull")
    _observe(observer, [_outcome("apps/a", 0), _outcome("apps/b", 20), bad])
    text = observer.render()
    assert _value(text, 'nethealth_probe_runs_total{check="apps/web",class="Healthy"}') == 1
    assert _value(text, 'nethealth_probe_runs_total{check="apps/web",class="PodNamespace"}') == 1
    series = 'nethealth_probe_inconclusive_total{check="apps/web",reason="ContainerNotStarted"}'
    assert _value(text, series) == 1
    assert _value(text, 'nethealth_pod_failure_ratio{check="apps/web",pod="apps/b"}') == 0.5
    assert _value(text, 'nethealth_degraded_pods{check="apps/web"}') == 1
    assert _value(text, 'nethealth_probe_run_duration_seconds_bucket{le="20"}') == 1
    assert _value(text, 'nethealth_probe_run_duration_seconds_bucket{le="10"}') == 0
    assert _value(text, "nethealth_probe_run_duration_seconds_count") == 1


def test_pods_that_left_and_deleted_checks_leave_no_gauge_behind() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome("apps/a", 0), _outcome("apps/b", 20)])
    _observe(observer, [_outcome("apps/a", 0)])
    assert 'pod="apps/b"' not in observer.render()
    observer.check_gone("apps/web")
    assert "nethealth_degraded_pods{" not in observer.render()


def test_every_line_is_a_comment_or_a_sample() -> None:
    observer = metrics.Observer()
    _observe(observer, [_outcome('apps/we"ird', 20)])
    for line in observer.render().splitlines():
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+(\{.*\})? \S+", line), line


def test_remediation_actions_are_counted_per_check_and_action() -> None:
    observer = metrics.Observer()
    observer.remediation_action(check="apps/web", action=model.EventReason.HOST_NETWORK_APPLIED)
    observer.remediation_action(check="apps/web", action=model.EventReason.HOST_NETWORK_APPLIED)
    observer.remediation_action(check="apps/web", action=model.EventReason.REMEDIATION_VERIFIED)
    text = observer.render()
    assert (
        'nethealth_remediation_actions_total{check="apps/web",action="HostNetworkApplied"} 2'
        in text
    )
    assert (
        'nethealth_remediation_actions_total{check="apps/web",action="RemediationVerified"} 1'
        in text
    )
