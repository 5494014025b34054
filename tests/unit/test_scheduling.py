"""When checks run, how many Jobs run at once, and which finished Jobs go."""

from __future__ import annotations

import collections
import datetime

import pytest

from nethealth.detection import scheduling

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)


def test_a_check_that_never_ran_is_due_at_once() -> None:
    due = scheduling.next_run(last_start=None, interval=MINUTE * 5, now=NOW, seed="u", run=0)
    assert due == NOW


def test_overdue_checks_meeting_a_restarted_operator_spread_over_the_interval() -> None:
    interval = MINUTE * 5
    ran = NOW - interval * 3
    dues = [
        scheduling.next_run(
            last_start=None, interval=interval, now=NOW, seed=f"uid-{i}", run=0, last_run=ran
        )
        for i in range(1000)
    ]
    assert all(NOW <= d < NOW + interval for d in dues)
    per_tenth = collections.Counter(int((d - NOW) / (interval / 10)) for d in dues)
    assert sorted(per_tenth) == list(range(10))
    assert all(70 <= n <= 130 for n in per_tenth.values()), per_tenth  # ~100 each
    again = scheduling.next_run(
        last_start=None, interval=interval, now=NOW, seed="uid-7", run=0, last_run=ran
    )
    assert again == dues[7]  # the same check, the same phase


def test_a_check_that_ran_recently_keeps_its_rhythm_after_a_restart() -> None:
    ran = NOW - MINUTE * 2
    due = scheduling.next_run(
        last_start=None, interval=MINUTE * 5, now=NOW, seed="u", run=0, last_run=ran
    )
    assert ran + MINUTE * 5 <= due < ran + MINUTE * 5 * (1 + scheduling.JITTER)
    long_ago = NOW - MINUTE * 60  # the operator was down: spread again, from now
    due = scheduling.next_run(
        last_start=None, interval=MINUTE * 5, now=NOW, seed="u", run=0, last_run=long_ago
    )
    assert NOW <= due < NOW + MINUTE * 5


def test_a_run_starting_beyond_a_tenth_of_its_interval_after_it_was_due_is_late() -> None:
    interval = MINUTE * 5
    assert scheduling.lateness(due=NOW, started=NOW + MINUTE * 0.5, interval=interval) is None
    late = scheduling.lateness(due=NOW, started=NOW + MINUTE, interval=interval)
    assert late == MINUTE
    # a short interval has a floor: a 2 s poll for the Job budget is not lateness
    assert scheduling.lateness(due=NOW, started=NOW + MINUTE / 6, interval=MINUTE / 2) is None
    assert scheduling.lateness(due=NOW, started=NOW + MINUTE / 4, interval=MINUTE / 2)


def test_a_run_that_overran_is_due_in_the_past_so_its_lateness_shows() -> None:
    due = scheduling.due(last_start=NOW, interval=MINUTE, now=NOW + MINUTE * 3, seed="u", run=1)
    assert due < NOW + MINUTE * 2


def test_later_runs_come_one_interval_after_the_last_start_plus_bounded_jitter() -> None:
    dues = [
        scheduling.next_run(last_start=NOW, interval=MINUTE, now=NOW, seed=f"check-{i}", run=1)
        for i in range(50)
    ]
    assert all(NOW + MINUTE <= d < NOW + MINUTE * (1 + scheduling.JITTER) for d in dues)
    assert len(set(dues)) > 10  # checks created together drift apart


def test_jitter_is_reproducible_per_check_and_run() -> None:
    one = scheduling.jitter(seed="u", run=3, interval=MINUTE)
    assert one == scheduling.jitter(seed="u", run=3, interval=MINUTE)


def test_a_run_that_overran_its_interval_starts_the_next_one_now() -> None:
    late = NOW + MINUTE * 10
    assert scheduling.next_run(last_start=NOW, interval=MINUTE, now=late, seed="u", run=1) == late


def _job(name: str, run: str, *, finished: bool = True) -> scheduling.JobInfo:
    return scheduling.JobInfo(name=name, run=run, finished=finished)


def test_only_the_newest_finished_runs_are_kept() -> None:
    listed = [
        _job("a1", "r1"),
        _job("a2", "r2"),
        _job("b2", "r2"),
        _job("a3", "r3"),
        _job("a4", "r4", finished=False),
    ]
    assert scheduling.prune(listed, keep_runs=2) == ["a1"]
    assert scheduling.prune(listed, keep_runs=1) == ["a1", "a2", "b2"]


def test_an_unfinished_run_is_found_for_adoption() -> None:
    assert scheduling.in_flight([_job("a1", "r1"), _job("a2", "r2", finished=False)]) == "r2"
    assert scheduling.in_flight([_job("a1", "r1")]) is None


def test_the_budget_admits_whole_runs_only() -> None:
    budget = scheduling.Budget(3)
    assert budget.take(2)
    assert not budget.take(2)  # would exceed: the run waits rather than starting half
    budget.give(2)
    assert budget.take(3)


def test_a_run_bigger_than_the_budget_may_run_alone() -> None:
    budget = scheduling.Budget(2)
    assert budget.take(5)
    assert not budget.take(1)


def test_a_budget_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        scheduling.Budget(0)


def test_jobs_whose_check_is_gone_are_orphans_and_no_others() -> None:
    listed = [
        scheduling.Owned(key="shop/nhp-web-1", check_uid="gone"),
        scheduling.Owned(key="apps/nhp-web-2", check_uid="live"),
        scheduling.Owned(key="x/nhp-db-1", check_uid="gone"),
    ]
    assert scheduling.orphans(listed, checks={"live"}) == ["shop/nhp-web-1", "x/nhp-db-1"]
    assert scheduling.orphans(listed, checks={"live", "gone"}) == []
