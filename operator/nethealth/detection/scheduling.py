"""Pure: when a check runs next, how many probe Jobs may run at once, and which finished
Jobs to delete.

- *Jitter*: checks created together (a GitOps sync) would otherwise probe in lockstep
  forever. Each run is delayed by up to ``JITTER`` of the interval, derived from the
  check's uid and the run's number, so it is spread but reproducible.
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

JITTER: Final = 0.1  # of the interval
FIRST_RUN_MAX_DELAY: Final = datetime.timedelta(seconds=3)
HISTORY_RUNS: Final = 2


def jitter(*, seed: str, run: int, interval: datetime.timedelta) -> datetime.timedelta:
    """A delay in [0, JITTER * interval), fixed for (seed, run)."""
    digest = hashlib.sha256(f"{seed}/{run}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return interval * (JITTER * fraction)


def next_run(
    *,
    last_start: datetime.datetime | None,
    interval: datetime.timedelta,
    now: datetime.datetime,
    seed: str,
    run: int,
) -> datetime.datetime:
    """When the next run starts: soon for the first one, else an interval after the last
    start plus jitter; never in the past (a run that overran starts the next one now)."""
    if last_start is None:
        return now + min(FIRST_RUN_MAX_DELAY, jitter(seed=seed, run=run, interval=interval))
    due = last_start + interval + jitter(seed=seed, run=run, interval=interval)
    return max(due, now)


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
