"""Connect attempts on loopback: spread over the window, pinned round robin, overlapping.

Loopback is enough to exercise the measuring loop without root: a listener accepts, a
closed port refuses, and a listener that never accepts (full backlog) lets connects
hang until their timeout.
"""

from __future__ import annotations

import errno
import os
import resource
import socket
import time

import pytest

from nethealth.probe import measure, types


@pytest.fixture(autouse=True)
def _restore_affinity():
    # measure.run pins the calling process; the probe runs it in a child, the test can't.
    cpus = os.sched_getaffinity(0)
    yield
    os.sched_setaffinity(0, cpus)


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0), backlog=128) as server:
        yield server


def _plan(port: int, *, attempts: int, spread: float, timeout: float = 1.0) -> measure.Plan:
    endpoint = types.Endpoint(name="local", address="127.0.0.1", port=port)
    return measure.Plan(
        endpoints=(endpoint,),
        attempts=attempts,
        spread=spread,
        timeout=timeout,
        start_at=time.monotonic() + 0.05,
    )


def _attempts(raw):
    return [types.Attempt.from_dict(a) for a in raw]


def test_attempts_to_a_listener_succeed_and_are_spread_evenly(listener):
    port = listener.getsockname()[1]
    attempts = _attempts(measure.run(_plan(port, attempts=10, spread=0.5)))
    assert [a.ok for a in attempts] == [True] * 10
    assert [a.immediate_errno for a in attempts] == [0] * 10
    # Each starts on its slot (0.05 s apart), give or take scheduling delays.
    lateness = [a.at - i * 0.05 for i, a in enumerate(attempts)]
    assert all(-0.001 <= late <= 0.04 for late in lateness), lateness
    assert attempts[0].address == "127.0.0.1"


def test_attempts_are_pinned_round_robin_over_the_allowed_cpus(listener):
    cpus = sorted(os.sched_getaffinity(0))
    attempts = _attempts(measure.run(_plan(listener.getsockname()[1], attempts=12, spread=0.2)))
    assert [a.cpu for a in attempts] == [cpus[i % len(cpus)] for i in range(12)]


def test_a_closed_port_is_refused_by_the_peer_not_at_connect():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    attempts = _attempts(measure.run(_plan(port, attempts=3, spread=0.1)))
    assert {(a.immediate_errno, a.final_errno) for a in attempts} in (
        {(0, errno.ECONNREFUSED)},  # refused after EINPROGRESS
        {(errno.ECONNREFUSED, errno.ECONNREFUSED)},  # loopback may refuse at once
    )
    assert not any(a.ok for a in attempts)


def test_hanging_connects_time_out_without_delaying_the_next_attempts():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)  # never accepted: once the queue holds one, SYNs are dropped
        port = server.getsockname()[1]
        started = time.monotonic()
        attempts = _attempts(measure.run(_plan(port, attempts=5, spread=0.5, timeout=0.5)))
        elapsed = time.monotonic() - started
    timed_out = [a for a in attempts if a.final_errno == errno.ETIMEDOUT]
    assert timed_out, attempts
    assert all(0.45 <= a.duration <= 0.7 for a in timed_out)
    assert elapsed < 0.5 + 0.5 + 0.5  # window + one timeout, not one timeout per attempt


def test_several_targets_interleave_within_the_window(listener):
    port = listener.getsockname()[1]
    endpoints = (
        types.Endpoint(name="a", address="127.0.0.1", port=port),
        types.Endpoint(name="b", address="127.0.0.1", port=port),
    )
    plan = measure.Plan(
        endpoints=endpoints, attempts=4, spread=0.4, timeout=1.0, start_at=time.monotonic() + 0.05
    )
    attempts = _attempts(measure.run(plan))
    assert [a.target for a in attempts] == ["a", "b"] * 4


def test_many_attempts_at_once_never_exhaust_the_probes_descriptors():
    # 1500 attempts with no spread would need 1500 sockets at once without a bound;
    # the descriptor limit is lowered well below that for the test.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with socket.create_server(("127.0.0.1", 0), backlog=4096) as server:
        resource.setrlimit(resource.RLIMIT_NOFILE, (400, hard))
        try:
            raw = measure.run(_plan(server.getsockname()[1], attempts=1500, spread=0.0))
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    attempts = _attempts(raw)
    assert len(attempts) == 1500
    assert all(a.ok for a in attempts), {a.final_errno for a in attempts}
