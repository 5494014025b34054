"""Inject the seed incident's kind of fault into a pod's network namespace, from the node.

A policy rule (``ip rule add pref 100 ipproto tcp dport PORT unreachable``) in the pod's
namespace makes its TCP connects to PORT fail with ENETUNREACH, exactly the errno of the
seed incident; toggled on and off it makes the failures come in blocks. Only the pod's
own namespace is touched, only for the one port, and the rule is always removed at the
end. Needs root on the pod's node (``nsenter`` into ``/proc/PID/ns/net``), and the
``ip`` command. Used by ``nethealth demo --inject-fault`` and the e2e tests.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator

from nethealth.probe import podnetns

RULE_PREF = "100"


def _ip(netns_fd: int, *args: str) -> None:
    subprocess.run(
        ["nsenter", f"--net=/proc/self/fd/{netns_fd}", "ip", *args],
        check=True,
        capture_output=True,
        timeout=10,
        pass_fds=(netns_fd,),
    )


@contextlib.contextmanager
def on_off(
    *, pod_uid: str | None = None, pid: int | None = None, port: int, period: float = 2.0
) -> Iterator[None]:
    """The rule toggled every ``period`` seconds while inside; removed on the way out.
    The namespace is the pod's, or that of process ``pid`` (the caller's: the node's own, for a
    test that must make the node's namespace fail; only ``port`` is affected)."""
    if pid is None:
        if pod_uid is None:
            raise ValueError("on_off needs pod_uid or pid")
        pid = podnetns.find(pod_uid=pod_uid).pid
    # Held open: the namespace stays reachable even if the process found exits.
    netns_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    rule = ["pref", RULE_PREF, "ipproto", "tcp", "dport", str(port), "unreachable"]
    stopped = threading.Event()

    def toggle() -> None:
        while not stopped.is_set():
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip(netns_fd, "rule", "add", *rule)
            if stopped.wait(period):
                break
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip(netns_fd, "rule", "del", *rule)
            stopped.wait(period)

    thread = threading.Thread(target=toggle, name="nethealth-fault", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
        thread.join(timeout=15)
        # Until none is left: `ip rule del` fails once the rule (or the pod) is gone.
        try:
            with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
                for _ in range(10):
                    _ip(netns_fd, "rule", "del", *rule)
        finally:
            os.close(netns_fd)
