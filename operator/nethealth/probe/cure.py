"""`nethealth cure`: add (or remove) the limited-broadcast route in a pod's network namespace.

The cure Job's container runs this on the target pod's node (``remediation/curejob.py``
builds the Job). The pod is found by its UID through its processes' cgroups
(``podnetns``, the probe's own lookup), and its namespace is opened *once*, by file
descriptor (``nshandle``): the forked child that changes the route enters the namespace
through that descriptor, never through ``/proc/<pid>`` again, so a process that exits and
whose PID is reused meanwhile can never lead the change into another namespace.

What is added and why: ``broadcastroute``. One JSON document on stdout, the same in the
termination message (the operator reads it from the Job's pod).

Exit codes: 0 done (added, present, foreign — left alone —, removed, absent), 1 failed
(pod not found, no such device, netlink refused), 64 usage.

Privileges (uid 0 in the container): ``hostPID`` to see the pod's processes;
``CAP_SYS_PTRACE`` to open another user's ``/proc/<pid>/ns/net``; ``CAP_SYS_ADMIN`` to
``setns()``; ``CAP_NET_ADMIN`` (in the pod's namespace) to add or delete the route.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Final, NoReturn

HELP = "add (or remove) the limited-broadcast route that cures the kernel bug in a pod's netns"

EXIT_DONE: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 64
TIMEOUT: Final = 20.0  # seconds for the change in the namespace: netlink answers at once
ACTIONS: Final = ("add", "remove", "inspect")


def configure(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--pod-uid", metavar="UID", help="the pod's metadata.uid (needs hostPID)")
    which.add_argument("--netns", metavar="PATH", help="a network namespace file")
    parser.add_argument(
        "--action",
        choices=ACTIONS,
        default="add",
        help="add the route (default), remove ours, or only inspect",
    )
    parser.add_argument(
        "--device", default="eth0", help="the pod's interface the route points at (eth0)"
    )
    parser.add_argument(
        "--termination-log",
        metavar="PATH",
        default="/dev/termination-log",
        help="where the JSON result also goes (skipped if its directory is missing)",
    )

    def error(message: str) -> NoReturn:
        parser.print_usage(sys.stderr)
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> int:
    from nethealth.probe import command  # noqa: PLC0415 (the probe's termination-log writer)

    try:
        document = cure(
            pod_uid=args.pod_uid, netns_path=args.netns, action=args.action, device=args.device
        )
        code = EXIT_DONE
    except ValueError as e:
        document, code = {"action": args.action, "error": str(e)}, EXIT_USAGE
    except Failed as e:
        document, code = {"action": args.action, "error": str(e)}, EXIT_FAILED
    text = json.dumps(document, sort_keys=True)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    command.write_termination_log(text[: command.TERMINATION_LOG_LIMIT], path=args.termination_log)
    return code


class Failed(Exception):
    """The cure could not be carried out; the message says why."""


def cure(
    *, pod_uid: str | None, netns_path: str | None, action: str, device: str
) -> dict[str, Any]:
    """Find the namespace, hold it, and run ``action`` in it through the held descriptor.

    Raises ValueError for bad input and `Failed` for anything that went wrong on the node.
    """
    from nethealth.probe import broadcastroute, netns, nshandle, podnetns  # noqa: PLC0415

    if action not in ACTIONS:
        raise ValueError(f"--action {action!r}: expected one of {', '.join(ACTIONS)}")
    located: dict[str, Any] = {}
    if pod_uid is not None:
        uid = podnetns.normalize_uid(pod_uid)  # ValueError names the accepted form
        try:
            process = podnetns.find(pod_uid=uid)
        except podnetns.PodNotFoundError as e:
            raise Failed(str(e)) from None
        path = process.netns
        located = {"podUid": uid, "pid": process.pid, "command": process.command}
    elif netns_path is not None:
        path = netns_path
    else:
        raise ValueError("one of --pod-uid or --netns is required")
    try:
        held = nshandle.hold(path)
    except netns.NetnsError as e:
        raise Failed(str(e)) from None
    try:
        func = {
            "add": broadcastroute.ensure,
            "remove": broadcastroute.remove,
            "inspect": broadcastroute.inspect,
        }[action]
        try:
            outcome: dict[str, Any] = netns.run_in(held.entry, func, device, timeout=TIMEOUT)
        except netns.NetnsError as e:
            raise Failed(str(e)) from None
        # The namespace changed is the one held: its identity goes into the report.
        return {"action": action, **outcome, **located, "netns": path, "inode": held.inode}
    finally:
        nshandle.release(held)
