import errno

from nethealth.probe import stats, types


def _attempt(target: str, at: float, *, ok: bool) -> types.Attempt:
    code = 0 if ok else errno.ENETUNREACH
    return types.Attempt(
        target=target,
        address="198.51.100.7",
        at=at,
        cpu=0,
        immediate_errno=code,
        final_errno=code,
        duration=0.001,
    )


def test_a_healthy_target_between_failing_attempts_does_not_split_the_outage():
    attempts = []
    for i in range(10):
        attempts.append(_attempt("v4", i * 1.0, ok=not 2 <= i <= 6))
        attempts.append(_attempt("v6", i * 1.0 + 0.5, ok=True))
    found = stats.blocks(attempts)
    assert [(b.start, b.failures) for b in found] == [(2.0, 5)]


def test_outages_of_two_targets_are_reported_in_time_order():
    attempts = [
        _attempt("b", 0.0, ok=True),
        _attempt("b", 4.0, ok=False),
        _attempt("b", 5.0, ok=False),
        _attempt("a", 1.0, ok=False),
        _attempt("a", 2.0, ok=True),
    ]
    assert [(b.start, b.failures) for b in stats.blocks(attempts)] == [(1.0, 1), (4.0, 2)]
