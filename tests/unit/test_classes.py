"""The class: which namespaces fail, and how clearly, decides where the fault lies."""

from __future__ import annotations

import errno

import pytest
from probe_builders import ALL, HALF, attempts, codes, hint, measured, ok, run, three, unmeasured

from nethealth.probe import classes, stats, types

Role = types.Role
Class = types.ProbeClass


@pytest.mark.parametrize(
    ("target", "control", "host", "expected"),
    [
        ("." * 60, "." * 60, "." * 60, Class.HEALTHY),
        (HALF, "." * 60, "." * 60, Class.POD_NAMESPACE),
        (HALF, "." * 60, ALL, Class.POD_NAMESPACE),  # a fresh pod is the comparison that counts
        (HALF, HALF, "." * 60, Class.NODE_NETWORK),
        (ALL, ALL, ALL, Class.UPSTREAM),
    ],
    ids=["healthy", "pod-only", "pod-and-host", "pods-not-host", "everyone"],
)
def test_class_follows_which_namespaces_fail(target, control, host, expected):
    verdict = run(three(attempts(target), attempts(control), attempts(host)))
    assert verdict.klass == expected


def test_seed_incident_is_pod_namespace_and_says_who_failed_how():
    verdict = run(three(attempts(HALF), ok(), ok()))
    assert verdict.klass == Class.POD_NAMESPACE
    assert "30/60 failed in the target pod (ENETUNREACH 30)" in verdict.reason
    assert "0/60 failed in a fresh pod" in verdict.reason


@pytest.mark.parametrize(
    ("attempt_count", "failures"),
    [(60, 1), (60, 2), (60, 4), (20, 2), (10, 1)],
)
def test_a_few_failures_within_background_loss_are_healthy(attempt_count, failures):
    picture = "x" * failures + "." * (attempt_count - failures)
    verdict = run(three(attempts(picture), ok(attempt_count), ok(attempt_count)))
    assert verdict.klass == Class.HEALTHY


@pytest.mark.parametrize(("attempt_count", "failures"), [(60, 5), (60, 30), (20, 3), (10, 3)])
def test_failures_clearly_above_background_loss_are_a_fault(attempt_count, failures):
    picture = "x" * failures + "." * (attempt_count - failures)
    verdict = run(three(attempts(picture), ok(attempt_count), ok(attempt_count)))
    assert verdict.klass == Class.POD_NAMESPACE


def test_failure_threshold_is_a_significance_test_not_a_count():
    # The same share of failures means more with more attempts.
    assert not stats.is_failing(attempts=10, failures=2)
    assert stats.is_failing(attempts=100, failures=20)
    assert stats.binomial_tail(n=60, k=5, p=stats.NOISE_RATE) < stats.SIGNIFICANCE
    assert stats.binomial_tail(n=60, k=4, p=stats.NOISE_RATE) >= stats.SIGNIFICANCE


def test_unmeasured_target_is_inconclusive_with_the_error():
    measurements = [unmeasured(Role.TARGET, "no such network namespace: /proc/42/ns/net")]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "no such network namespace" in verdict.reason


def test_too_few_attempts_is_inconclusive_and_says_how_many_are_needed():
    verdict = run(three(attempts("xx.x"), ok(4), ok(4)))
    assert verdict.klass == Class.INCONCLUSIVE
    assert "only 4 attempts" in verdict.reason
    assert f"at least {classes.MIN_ATTEMPTS}" in verdict.reason


def test_failing_target_without_control_cannot_tell_pod_from_node():
    measurements = [
        measured(Role.TARGET, attempts(HALF)),
        unmeasured(Role.CONTROL, "control pod never became ready"),
        measured(Role.HOST, ok()),
    ]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "control pod never became ready" in verdict.reason
    assert "pod fault cannot be told from a node fault" in verdict.reason


def test_failing_pods_without_host_cannot_tell_node_from_upstream():
    measurements = [measured(Role.TARGET, attempts(ALL)), measured(Role.CONTROL, attempts(ALL))]
    verdict = run(measurements)
    assert verdict.klass == Class.INCONCLUSIVE
    assert "the host was not measured" in verdict.reason


def test_failing_target_with_working_control_needs_no_host():
    measurements = [measured(Role.TARGET, attempts(HALF)), measured(Role.CONTROL, ok())]
    assert run(measurements).klass == Class.POD_NAMESPACE


def test_healthy_target_is_healthy_even_without_comparisons():
    assert run([measured(Role.TARGET, ok())]).klass == Class.HEALTHY


def test_with_several_targets_the_most_local_fault_wins_and_is_named():
    target = (*attempts(HALF, target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    control = (*ok(target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    host = (*ok(target="api"), *attempts(ALL, target="db", address="203.0.113.20"))
    verdict = run(three(target, control, host))
    assert verdict.klass == Class.POD_NAMESPACE
    assert verdict.reason.startswith("api:")
    assert "db:" not in verdict.reason


@pytest.mark.parametrize("code", [errno.ETIMEDOUT, errno.ECONNREFUSED, errno.ECONNRESET])
def test_only_the_pod_failing_beyond_its_namespace_is_filtered_not_its_namespace(code):
    # A NetworkPolicy selecting the pod (not the probe's fresh pod) drops or refuses its
    # traffic: the failures come from the path or the peer, not from the pod's own stack.
    path = attempts(ALL, code=code)
    verdict = run(three(path, ok(), ok()))
    assert verdict.klass == Class.FILTERED
    assert "filtered" in verdict.reason
    assert codes(verdict)[0] == "PodTrafficFiltered"
    assert "NetworkPolicy" in hint(verdict, "PodTrafficFiltered").advice


def test_only_refusals_of_the_pods_own_stack_count_as_its_namespace():
    refused = attempts(HALF, code=errno.ENETUNREACH)  # at once, before a packet left
    verdict = run(three(refused, ok(), ok()))
    assert verdict.klass == Class.POD_NAMESPACE
    assert "refused in its own namespace" in verdict.reason


# -- the paired comparison: only failures the fresh pod did not share blame the pod ------


def _scattered(failed_slots: set[int], count: int = 60) -> str:
    return "".join("x" if i in failed_slots else "." for i in range(count))


def test_loss_every_namespace_shares_is_never_blamed_on_the_pod():
    # A lossy uplink drops ~10 % of every namespace's connects, in different slots: the
    # target's 6 are above noise, the fresh pod's 4 are not significant by themselves.
    path = dict(code=errno.ETIMEDOUT)
    target = attempts(_scattered({3, 11, 19, 28, 40, 52}), **path)
    control = attempts(_scattered({7, 23, 35, 47}), **path)
    host = attempts(_scattered({5, 17, 29, 44, 58}), **path)
    verdict = run(three(target, control, host))
    assert verdict.klass not in (Class.POD_NAMESPACE, Class.FILTERED)
    assert "too close to tell" in verdict.reason


def test_loss_shared_with_a_failing_fresh_pod_and_node_is_upstream():
    path = dict(code=errno.ETIMEDOUT)
    target = attempts(_scattered({3, 11, 19, 28, 40, 52}), **path)
    control = attempts(_scattered({7, 23, 35, 47, 55}), **path)
    host = attempts(_scattered({5, 17, 29, 44, 58}), **path)
    assert run(three(target, control, host)).klass == Class.UPSTREAM


def test_an_outage_in_the_same_slots_everywhere_is_not_the_pods():
    outage = attempts(_scattered(set(range(10, 22))), code=errno.ETIMEDOUT)
    verdict = run(three(outage, outage, outage))
    assert verdict.klass == Class.UPSTREAM


def test_a_pod_failing_far_more_than_a_somewhat_failing_fresh_pod_is_blamed():
    target = attempts(HALF)
    control = attempts(_scattered({1, 9, 21, 33, 45, 57}))  # failing, but 6 of 60
    verdict = run(three(target, control, ok()))
    assert verdict.klass == Class.POD_NAMESPACE


def test_failures_the_fresh_pod_shared_are_left_out_of_the_pods_counts():
    target = attempts(_scattered(set(range(20))))
    control = attempts(_scattered(set(range(5))))
    verdict = run(three(target, control, ok()))
    assert verdict.klass == Class.POD_NAMESPACE
    (judged,) = verdict.targets
    assert (judged.attempts, judged.failures) == (55, 15)
    assert "5 failures shared with a fresh pod are not counted" in verdict.reason


# -- per target ---------------------------------------------------------------------------


def test_each_target_gets_its_own_class_and_counts():
    down = dict(target="db", address="203.0.113.20")
    target = (*ok(target="api"), *attempts(ALL, **down))
    others = (*ok(target="api"), *attempts(ALL, **down))
    verdict = run(three(target, others, others))
    by_name = {v.target: v for v in verdict.targets}
    assert by_name["api"].klass == Class.HEALTHY
    assert (by_name["db"].klass, by_name["db"].failures) == (Class.UPSTREAM, 60)
    assert verdict.klass == Class.UPSTREAM
    assert verdict.reason.startswith("db:")


def test_hints_name_the_targets_at_fault():
    target = (*attempts(HALF, target="api"), *ok(target="db", address="203.0.113.20"))
    control = (*ok(target="api"), *ok(target="db", address="203.0.113.20"))
    verdict = run(three(target, control, control))
    assert verdict.klass == Class.POD_NAMESPACE
    assert all(h.evidence.startswith("api: ") for h in verdict.hints)


def test_a_suspect_target_fails_only_in_the_pod_and_only_it_is_suspect():
    mild = attempts(_scattered({2, 14, 26, 38, 50, 55}))  # 10 %: failing, below 20 %
    verdict = run(three(mild, ok(), ok()))
    assert verdict.targets[0].suspect
    everywhere = attempts(ALL)
    assert not run(three(everywhere, everywhere, ok())).targets[0].suspect
