"""`nethealth probe`: measure a pod's network from inside its namespace, with controls.

The probe Job's container runs this on the target pod's node. It finds the pod's network
namespace, makes the same connect() attempts there, in a control namespace (by default
its own: a fresh pod on the same node with the same CNI) and in the host's, all at once,
gathers evidence from the target namespace, classifies where the fault lies and reports:
the full JSON (or text) on stdout, a compact JSON in the termination message.

Exit codes: 0 healthy, 1 degraded (any network fault class), 2 inconclusive, 64 usage.

Minimum privileges (the probe runs as uid 0 in its container), verified on kernel 6.18
by running the CLI under ``setpriv --bounding-set=-all,+...`` against a pod process of
another user (uid 65534):

- ``hostPID: true`` to see the pod's processes (``--pod-uid``, ``--pid``) and the node's
  namespace through the pod's runtime (the default ``--host-netns auto``: the namespace of
  the target process's parent, its runtime shim; else ``/proc/1/ns/net``);
- ``CAP_SYS_ADMIN`` to ``setns()`` into another network namespace (without it:
  Inconclusive, "needs CAP_SYS_ADMIN");
- ``CAP_SYS_PTRACE`` to open ``/proc/<pid>/ns/net`` of another user's (or a
  non-dumpable) process, and to see which processes own UDP sockets (without it:
  Inconclusive, "needs CAP_SYS_PTRACE").

Nothing else: with exactly these two the full run works (connects, netlink route
lookups and dumps, /proc counters); no ``CAP_NET_ADMIN``, ``CAP_NET_RAW`` or
``CAP_DAC_*``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any, NoReturn

from nethealth.probe import nodenetns, report

HELP = "measure a pod's network from inside its namespace, with controls and evidence"

EXIT_HEALTHY = 0
EXIT_DEGRADED = 1
EXIT_INCONCLUSIVE = 2
EXIT_USAGE = 64  # EX_USAGE from sysexits.h

DEFAULT_ATTEMPTS = 60
DEFAULT_SPREAD = 30.0
DEFAULT_TIMEOUT = 3.0
DEFAULT_WINDOWS = 3
DEFAULT_FAILURE_RATE = 0.2
MAX_ATTEMPTS = 10_000
TERMINATION_LOG_LIMIT = 4096  # bytes Kubernetes keeps of a termination message


def configure(parser: argparse.ArgumentParser) -> None:
    which = parser.add_argument_group("target namespace (exactly one)")
    which.add_argument("--pod-uid", metavar="UID", help="the pod's metadata.uid (needs hostPID)")
    which.add_argument(
        "--container-id",
        metavar="ID",
        action="append",
        default=[],
        help="with --pod-uid: use a process of this container (repeatable; 'containerd://' ok)",
    )
    which.add_argument("--pid", metavar="PID", help="a process in the target namespace")
    which.add_argument("--netns", metavar="PATH", help="a network namespace file")
    parser.add_argument(
        "--control-netns",
        metavar="PATH",
        default="/proc/self/ns/net",
        help="namespace of a fresh pod on the same node (default: the probe's own)",
    )
    parser.add_argument(
        "--host-netns",
        metavar="PATH",
        default=nodenetns.AUTO,
        help="the node's namespace (default: auto, the namespace of the target process's"
        " parent, its container runtime's shim; else /proc/1/ns/net; needs hostPID)",
    )
    parser.add_argument(
        "--target",
        metavar="[NAME=]HOST:PORT",
        action="append",
        default=[],
        help="a TCP destination; IPv6 as [addr]:port; a name is resolved as the pod resolves"
        " it, each of its address families measured (repeatable)",
    )
    parser.add_argument(
        "--dns-name",
        metavar="NAME",
        action="append",
        default=[],
        help="also resolve NAME with the pod's resolver, from inside its namespace (repeatable)",
    )
    parser.add_argument(
        "--resolv-conf",
        metavar="PATH",
        help="the pod's resolver configuration (default: its process's /etc/resolv.conf;"
        " with --netns the probe's own)",
    )
    parser.add_argument(
        "--attempts",
        metavar="N",
        default=str(DEFAULT_ATTEMPTS),
        help=f"connects per target and namespace (default {DEFAULT_ATTEMPTS})",
    )
    parser.add_argument(
        "--spread",
        metavar="SECONDS",
        default=str(DEFAULT_SPREAD),
        help=f"window the attempts are spread over (default {DEFAULT_SPREAD:g})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=str(DEFAULT_TIMEOUT),
        help=f"per connect (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--windows",
        metavar="N",
        default=str(DEFAULT_WINDOWS),
        help="measure up to N windows of --spread while the pod looks bad but is not failing"
        f" yet (default {DEFAULT_WINDOWS}; 1: one window)",
    )
    parser.add_argument(
        "--failure-rate",
        metavar="SHARE",
        default=str(DEFAULT_FAILURE_RATE),
        help="the operator's threshold.failureRate, by which a window is judged failing"
        f" (default {DEFAULT_FAILURE_RATE:g})",
    )
    parser.add_argument(
        "--output",
        choices=("json", "text"),
        default="text",
        help="json: stdout is exactly the result document; text: a report for people",
    )
    parser.add_argument(
        "--termination-log",
        metavar="PATH",
        default="/dev/termination-log",
        help="where the compact JSON goes (skipped if its directory is missing)",
    )
    _usage_errors_exit_64(parser)


def _usage_errors_exit_64(parser: argparse.ArgumentParser) -> None:
    # Exit code 2 means "inconclusive" here, argparse's default for usage errors.
    def error(message: str) -> NoReturn:
        parser.print_usage(sys.stderr)
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> int:
    from nethealth.probe import orchestrate  # noqa: PLC0415 (heavy: pyroute2; only on run)

    started = orchestrate.now()
    try:
        request = orchestrate.request_from(
            pod_uid=args.pod_uid,
            container_ids=args.container_id,
            pid=args.pid,
            netns=args.netns,
            control_netns=args.control_netns,
            host_netns=args.host_netns,
            targets=args.target,
            attempts=args.attempts,
            spread=args.spread,
            timeout=args.timeout,
            windows=args.windows,
            failure_rate=args.failure_rate,
            dns_names=args.dns_name,
            resolv_conf=args.resolv_conf,
        )
    except orchestrate.UsageError as e:
        print(f"nethealth probe: error: {e}", file=sys.stderr)
        document = orchestrate.inconclusive(str(e), started=started)
        emit(document, fmt=args.output, termination_log=args.termination_log)
        return EXIT_USAGE
    try:
        document = orchestrate.probe(request)
    except Exception as e:  # a crash must not read as "degraded" (Python exits 1)
        traceback.print_exc()
        reason = f"the probe failed: {type(e).__name__}: {e}"
        document = orchestrate.inconclusive(reason, started=started)
    emit(document, fmt=args.output, termination_log=args.termination_log)
    return exit_code(document.get("class"))


def emit(document: dict[str, Any], *, fmt: str, termination_log: str) -> None:
    """The full report on stdout; the compact JSON in the termination message."""
    if fmt == "json":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(report.render_text(document))
    sys.stdout.flush()
    write_termination_log(report.compact(document, TERMINATION_LOG_LIMIT), path=termination_log)


def write_termination_log(text: str, *, path: str) -> None:
    """Write the termination message; outside a pod its directory is missing: skip."""
    if not path or not os.path.isdir(os.path.dirname(path) or "."):
        return
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"nethealth probe: cannot write {path}: {e.strerror}", file=sys.stderr)


def exit_code(klass: object) -> int:
    """Healthy 0; any network fault class 1; inconclusive (or unknown) 2."""
    if klass == "Healthy":
        return EXIT_HEALTHY
    if klass in ("PodNamespace", "Filtered", "NodeNetwork", "Upstream"):
        return EXIT_DEGRADED
    return EXIT_INCONCLUSIVE
