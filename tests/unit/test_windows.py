"""When a run measures longer: the pod looks bad, nothing else does, and it is not failing yet."""

from __future__ import annotations

import dataclasses

import pytest

from nethealth.probe import runrule, types, windows

Class = types.ProbeClass


def _verdict(
    klass: Class, *, failures: int, attempts: int = 60, suspect: bool = True
) -> types.TargetVerdict:
    return types.TargetVerdict(
        target="api",
        klass=klass,
        reason="",
        attempts=attempts,
        failures=failures,
        blocks=1 if failures else 0,
        suspect=suspect,
    )


def test_a_suspect_target_below_the_threshold_measures_longer() -> None:
    # One 5-6 s block of the seed's fault in a 30 s window: 11 of 60, 18 %.
    assert windows.longer(verdicts=[_verdict(Class.POD_NAMESPACE, failures=11)], failure_rate=0.2)


def test_a_target_already_failing_by_the_operators_rule_stops() -> None:
    failing = _verdict(Class.POD_NAMESPACE, failures=20)
    assert runrule.failing(attempts=60, failures=20, failure_rate=0.2)
    assert not windows.longer(verdicts=[failing], failure_rate=0.2)
    mild = _verdict(Class.FILTERED, failures=11, attempts=60)
    assert not windows.longer(verdicts=[mild, failing], failure_rate=0.2)


def test_nothing_suspect_stops() -> None:
    assert not windows.longer(
        verdicts=[_verdict(Class.HEALTHY, failures=1, suspect=False)], failure_rate=0.2
    )
    shared = _verdict(Class.NODE_NETWORK, failures=11, suspect=False)
    assert not windows.longer(verdicts=[shared], failure_rate=0.2)


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.3])
def test_the_threshold_is_the_checks(rate: float) -> None:
    verdict = _verdict(Class.POD_NAMESPACE, failures=15)  # 25 %
    assert windows.longer(verdicts=[verdict], failure_rate=rate) is (rate >= 0.25)


def test_a_target_too_close_to_call_is_measured_longer_to_tell() -> None:
    close = _verdict(Class.INCONCLUSIVE, failures=9)
    assert windows.longer(verdicts=[close], failure_rate=0.2)


def test_scattered_failures_well_below_the_threshold_stop_at_once() -> None:
    # 6 scattered failures of 60 (10 %): clearly above noise, but as many independent
    # samples as connects, and the interval stays below 20 %: more of it would not fail.
    steady = types.TargetVerdict(
        target="api", klass=Class.POD_NAMESPACE, reason="", attempts=60, failures=5, blocks=5,
        suspect=True,
    )  # fmt: skip
    assert not windows.longer(verdicts=[steady], failure_rate=0.2)
    one_block = dataclasses.replace(steady, blocks=1)  # the same count in one 0.5 s block
    assert windows.longer(verdicts=[one_block], failure_rate=0.2)
