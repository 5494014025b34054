"""`nethealth revert KIND/NAME` (`kubectl nethealth revert`): undo the hostNetwork fallback.

Restores the pod template's ``hostNetwork`` and ``dnsPolicy`` recorded when the operator
patched the workload, with ``loop.owners.revert``: the same
server-side apply as the operator's, so the fields and annotations it owned go away and
nothing else changes. Says what it restored, or that nothing was recorded.

Exit 0 when restored or nothing was recorded (reverting twice is fine), 1 when the
workload is missing or the API refuses, 64 for a malformed KIND/NAME.
"""

from __future__ import annotations

import argparse
import sys

from nethealth.plugin import connection, options

HELP = "restore a workload's network settings from before the hostNetwork fallback"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workload",
        metavar="KIND/NAME",
        help="deployment/NAME, statefulset/NAME or daemonset/NAME (deploy, sts, ds)",
    )
    connection.add_namespace(parser)
    connection.add_flags(parser)


def run(args: argparse.Namespace) -> int:
    try:
        kind, name = options.workload(args.workload)
    except options.UsageError as error:
        print(f"nethealth revert: error: {error}", file=sys.stderr)
        return options.EXIT_USAGE
    import asyncio  # noqa: PLC0415

    from nethealth import kube  # noqa: PLC0415 - the client is heavy
    from nethealth.kube import blocking  # noqa: PLC0415
    from nethealth.loop import owners  # noqa: PLC0415
    from nethealth.plugin import restored  # noqa: PLC0415
    from nethealth.remediation import hostnetwork  # noqa: PLC0415

    try:
        conn = blocking.connect(kubeconfig=args.kubeconfig, context=args.context)
        key = hostnetwork.WorkloadKey(
            kind=kind, namespace=args.namespace or conn.namespace, name=name
        )
        api = kube.Client(conn, field_manager=hostnetwork.FIELD_MANAGER)
        before = asyncio.run(api.read_workload(key))
        if before is None:
            print(f"nethealth revert: error: {restored.name(key)} not found", file=sys.stderr)
            return 1
        after = asyncio.run(owners.revert(api, key))
    except (kube.KubeError, ValueError) as error:
        print(f"nethealth revert: error: {error}", file=sys.stderr)
        return 1
    print(restored.outcome(key=key, before=before, after=after))
    return 0
