"""Pure: when a check runs next, how many probe Jobs may run at once, and which finished
Jobs to delete.

- *Jitter*: checks created together (a GitOps sync) would otherwise probe in lockstep
  forever. Each run is delayed by up to ``JITTER`` of the interval, derived from the
  check's uid and the run's number, so it is spread but reproducible.
- *First runs spread over the interval*: a thousand checks meeting a starting operator
  used to all run within seconds and queue for the Job budget, so that half of them missed
  their interval (docs/performance.md). A check's first run in a process starts at its own
  ``phase`` of the interval (from its uid), so they arrive evenly; one whose last run (from
  its status) is recent keeps its rhythm instead.
- *Late runs are said*: a run whose probe Jobs start more than ``late_after`` after it was
  due (queued behind the budget, or the previous run overran) is reported in status and a
  metric (``lateness``), not silently late.
- *One run in flight per check*: the loop of a check waits for its run to finish before
  planning the next, so runs never overlap; ``next_run`` counts from the run's start.
- *A global budget* of concurrent probe Jobs (``Budget``): a run takes all the Jobs it
  needs or waits; it never starts half its nodes.
- *Bounded history*: finished Jobs of the newest ``HISTORY_RUNS`` runs stay for
  inspection (``kubectl logs``); older ones are deleted (a peer piled up ~1,900 finished
  checker pods in two days). ``ttlSecondsAfterFinished`` is the backstop while the
  operator is down.
- *No orphans*: a Job in another namespace than its check's has no owner reference (they
  never cross namespaces); ``orphans`` names the Jobs whose check no longer exists, which
  the operator deletes at start and periodically (no finalizer on GitOps-managed checks).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Collection, Iterable
from typing import Final

from nethealth import model

JITTER: Final = 0.1  # of the interval
LATE_SHARE: Final = 0.1  # of the interval: a run starting later than this after it was due
LATE_MIN: Final = datetime.timedelta(seconds=10)
HISTORY_RUNS: Final = 2


def jitter(*, seed: str, run: int, interval: datetime.timedelta) -> datetime.timedelta:
    """A delay in [0, JITTER * interval), fixed for (seed, run)."""
    digest = hashlib.sha256(f"{seed}/{run}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return interval * (JITTER * fraction)


def phase(*, seed: str, interval: datetime.timedelta) -> datetime.timedelta:
    """Where in the interval a check's first run falls, fixed by its uid: [0, interval)."""
    digest = hashlib.sha256(f"phase/{seed}".encode()).digest()
    return interval * (int.from_bytes(digest[:8], "big") / 2**64)


def due(
    *,
    last_start: datetime.datetime | None,
    interval: datetime.timedelta,
    now: datetime.datetime,
    seed: str,
    run: int,
    last_run: datetime.datetime | None = None,
) -> datetime.datetime:
    """When the next run is due, possibly in the past (a run that overran): an interval
    after the last start plus jitter; the first run in this process an interval after the
    last run its status records, or, when that is past, at its ``phase`` of the interval
    from now (an operator restarted under many overdue checks spreads them). A check that
    never ran is due now: whoever just applied it waits for its first verdict."""
    if last_start is None:
        if last_run is None:
            return now
        if last_run + interval > now:
            return last_run + interval + jitter(seed=seed, run=run, interval=interval)
        return now + phase(seed=seed, interval=interval)
    return last_start + interval + jitter(seed=seed, run=run, interval=interval)


def next_run(
    *,
    last_start: datetime.datetime | None,
    interval: datetime.timedelta,
    now: datetime.datetime,
    seed: str,
    run: int,
    last_run: datetime.datetime | None = None,
) -> datetime.datetime:
    """When the next run starts: ``due``, never in the past (a run that overran starts
    the next one now)."""
    found = due(
        last_start=last_start, interval=interval, now=now, seed=seed, run=run, last_run=last_run
    )
    return max(found, now)


EPOCH: Final = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def aligned_due(
    *,
    namespace: str,
    interval: datetime.timedelta,
    now: datetime.datetime,
    last_start: datetime.datetime | None,
) -> datetime.datetime:
    """When the next run is due with batched probe Jobs: on a grid shared by every check
    of the namespace with the same interval (its ``phase`` from the namespace, counted
    from a fixed epoch), so that they are due in the same tick and their pods on a node
    share a Job; namespaces are spread over the interval. The first slot from ``now``
    for a first run, else the first slot at least half an interval after the last
    start (possibly past: a run that overran is late)."""
    offset = phase(seed=f"namespace/{namespace}", interval=interval)
    earliest = now if last_start is None else last_start + interval / 2
    slots = -((EPOCH + offset - earliest) // interval)  # ceil((earliest - first) / interval)
    return EPOCH + offset + interval * slots


def late_after(interval: datetime.timedelta) -> datetime.timedelta:
    """How long after it was due a run may start and still be on time: ``LATE_SHARE`` of
    the interval (so a check runs at least every interval plus its jitter plus that), not
    less than ``LATE_MIN`` (a 30 s interval is not late for a 2 s poll)."""
    return max(interval * LATE_SHARE, LATE_MIN)


def lateness(
    *, due: datetime.datetime, started: datetime.datetime, interval: datetime.timedelta
) -> datetime.timedelta | None:
    """How late a run whose probe Jobs started at ``started`` is (None: on time)."""
    delay = started - due
    return delay if delay > late_after(interval) else None


def on_schedule(
    *, late: datetime.timedelta | None, interval: datetime.timedelta
) -> tuple[bool, model.Reason, str]:
    """The ``OnSchedule`` condition after a run: True, or False saying how late it was."""
    if late is None:
        return True, model.Reason.ON_TIME, "the latest run started when it was due"
    return (
        False,
        model.Reason.RUN_LATE,
        f"the latest run started {late.total_seconds():.0f} s after it was due (more than"
        f" {late_after(interval).total_seconds():.0f} s, a tenth of the interval): more"
        " probe Jobs were due than the operator's budget runs at once"
        " (NETHEALTH_MAX_CONCURRENT_JOBS), or the previous run overran",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobInfo:
    name: str
    run: str  # run ids sort by time (jobs.run_id)
    finished: bool


def prune(jobs: Iterable[JobInfo], *, keep_runs: int = HISTORY_RUNS) -> list[str]:
    """Names of finished Jobs to delete: all but those of the newest ``keep_runs`` runs."""
    jobs = list(jobs)
    finished_runs = sorted({j.run for j in jobs if j.finished}, reverse=True)
    kept = set(finished_runs[:keep_runs])
    return sorted(j.name for j in jobs if j.finished and j.run not in kept)


def in_flight(jobs: Iterable[JobInfo]) -> str | None:
    """The run with unfinished Jobs (a previous process's, to adopt), newest if several."""
    runs = sorted({j.run for j in jobs if not j.finished}, reverse=True)
    return runs[0] if runs else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Owned:
    """A probe Job and the uid of the check it belongs to (its label)."""

    key: str  # namespace/name
    check_uid: str


def orphans(jobs: Iterable[Owned], *, checks: Collection[str]) -> list[str]:
    """Keys of the Jobs whose check is not among ``checks`` (uids listed *after* the Jobs,
    so a check created meanwhile is listed too and its new Jobs are never taken)."""
    return sorted(j.key for j in jobs if j.check_uid not in checks)


class Budget:
    """A count of probe Jobs in flight across all checks (one event loop: no locking)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.used = 0

    def take(self, count: int) -> bool:
        """Take ``count`` slots if all are free (a run bigger than the limit may run alone)."""
        if count <= 0:
            return True
        if self.used == 0 or self.used + count <= self.limit:
            self.used += count
            return True
        return False

    def give(self, count: int) -> None:
        self.used = max(0, self.used - count)
