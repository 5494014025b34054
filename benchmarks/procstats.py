"""A process's own cost from /proc: peak resident memory and CPU seconds used so far.

Read from ``/proc/PID/status`` (``VmHWM``, the high-water mark of resident memory, kept by
the kernel for the process's whole life, so no sampling can miss a peak) and
``/proc/PID/stat`` (user + system CPU time in clock ticks). One process: the operators
under test are single Python processes (threads share the figures).
"""

from __future__ import annotations

import os

TICKS = os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    return _status_mib(pid, "VmHWM")


def rss_mib(pid: int) -> float:
    """Resident memory now (to see when the peak happens)."""
    return _status_mib(pid, "VmRSS")


def _status_mib(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        text = stat.read()
    # The command name (field 2) may hold spaces: count fields after its closing paren.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / TICKS
