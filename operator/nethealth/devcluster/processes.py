"""Starting the node's processes detached, and stopping exactly those later.

Each component runs in its own session (so its process group is its own and a
Ctrl-C at the terminal reaches only the harness, which then tears down in
order), with stdout and stderr appended to its log in the run directory.

A pid file holds the pid *and* the process's start time from
``/proc/<pid>/stat``: a later ``down`` (possibly after a crash and a reboot of
nothing but the harness) only signals a pid whose start time still matches,
never a stranger that reused the number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence

STOP_GRACE_SECONDS = 10.0

# The processes this harness started, kept until they are reaped: a Popen
# dropped while its process runs would warn, and its exit would leave a zombie.
_started: dict[int, subprocess.Popen[bytes]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Recorded:
    pid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/<pid>/stat


def start_time_of(pid: int) -> int | None:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def is_alive(recorded: Recorded) -> bool:
    started = start_time_of(recorded.pid)
    if started != recorded.start_time:
        return False
    # A zombie has exited; only its parent's wait() is missing.
    with contextlib.suppress(FileNotFoundError):
        state = pathlib.Path(f"/proc/{recorded.pid}/stat").read_text()
        return state[state.rindex(")") + 2] != "Z"
    return False


def read_pid_file(path: pathlib.Path) -> Recorded | None:
    try:
        pid_text, start_text = path.read_text().split()
        return Recorded(pid=int(pid_text), start_time=int(start_text))
    except (FileNotFoundError, ValueError):
        return None


def spawn(
    *,
    argv: Sequence[str],
    log: pathlib.Path,
    pid_file: pathlib.Path,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    _started[process.pid] = process
    started = start_time_of(process.pid)
    pid_file.write_text(f"{process.pid} {started if started is not None else 0}\n")
    return process


def _signal_group(pid: int, signum: signal.Signals) -> None:
    # Each component leads its own session, so its group id is its pid; the
    # group also takes any helper the component forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _reap(pid: int) -> None:
    process = _started.get(pid)
    if process is None:
        return  # started by an earlier harness: not our child, init reaps it
    if process.poll() is not None:
        del _started[pid]


def stop_all(recorded: Iterable[Recorded], *, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every live one at once, SIGKILL what is left after ``grace`` seconds."""
    alive = [r for r in recorded if is_alive(r)]
    for r in alive:
        _signal_group(r.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        for r in alive:
            _reap(r.pid)
        alive = [r for r in alive if is_alive(r)]
        if alive:
            time.sleep(0.05)
    for r in alive:
        _signal_group(r.pid, signal.SIGKILL)
    for r in alive:
        for _ in range(100):
            _reap(r.pid)
            if not is_alive(r):
                break
            time.sleep(0.02)
    reap_exited()


def reap_exited() -> None:
    """Collect the exit status of every started process that has ended."""
    for pid, process in list(_started.items()):
        if process.poll() is not None:
            del _started[pid]


def stop_pid_files(paths: Iterable[pathlib.Path], *, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop the processes the pid files name, then remove the files."""
    paths = list(paths)
    stop_all([r for r in map(read_pid_file, paths) if r is not None], grace=grace)
    for path in paths:
        path.unlink(missing_ok=True)


def executable_of(pid: int) -> pathlib.Path | None:
    try:
        return pathlib.Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def command_line_of(pid: int) -> list[str]:
    try:
        raw = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def all_pids() -> list[int]:
    return [int(entry.name) for entry in pathlib.Path("/proc").iterdir() if entry.name.isdigit()]


def find_mentioning(
    *, needle: str, executables: Iterable[str], exclude: Iterable[int] = ()
) -> list[Recorded]:
    """Live processes of the given executable names whose argv mentions ``needle``.

    Finds the leftovers of a run whose pid files were lost (a crash while
    starting): the components all name the run directory on their command line.
    """
    names = set(executables)
    skip = set(exclude) | {os.getpid()}
    found = []
    for pid in all_pids():
        if pid in skip:
            continue
        exe = executable_of(pid)
        if exe is None or exe.name.removesuffix(" (deleted)") not in names:
            continue
        if any(needle in part for part in command_line_of(pid)):
            started = start_time_of(pid)
            if started is not None:
                found.append(Recorded(pid=pid, start_time=started))
    return found
