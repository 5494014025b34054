"""When checks run, how many Jobs run at once, and which finished Jobs go."""

from __future__ import annotations

import datetime

import pytest

from nethealth.detection import scheduling

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)


def test_the_first_run_starts_within_seconds() -> None:
    due = scheduling.next_run(last_start=None, interval=MINUTE * 5, now=NOW, seed="u", run=0)
    assert NOW <= due <= NOW + scheduling.FIRST_RUN_MAX_DELAY


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
