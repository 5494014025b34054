"""`nethealth status` (`kubectl nethealth status`): the checks and their pods, one table.

Read from the checks' ``status`` as the operator wrote it (nothing is measured): each
pod with its state, the probe's class, the failure rate of its last run, the top hint
and when it ran. Exit 0 when the table was printed, 1 when the checks cannot be read.
"""

from __future__ import annotations

import argparse
import sys

from nethealth.plugin import connection

HELP = "list NetHealthChecks and their pods: state, class, failure rate, hint, last run"


def configure(parser: argparse.ArgumentParser) -> None:
    connection.add_namespace(parser, all_namespaces=True)
    connection.add_flags(parser)


def run(args: argparse.Namespace) -> int:
    import datetime  # noqa: PLC0415

    from nethealth.kube import blocking, errors  # noqa: PLC0415 - the client is heavy
    from nethealth.plugin import table  # noqa: PLC0415

    try:
        conn = blocking.connect(kubeconfig=args.kubeconfig, context=args.context)
        namespace = None if args.all_namespaces else (args.namespace or conn.namespace)
        checks = blocking.list_checks(conn, namespace=namespace)
    except errors.KubeError as error:
        print(f"nethealth status: error: {error}", file=sys.stderr)
        return 1
    if not checks:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        print(f"No NetHealthChecks found in {where}.", file=sys.stderr)
        return 0
    rows = table.rows(checks, now=datetime.datetime.now(datetime.UTC))
    sys.stdout.write(table.render(rows, with_namespace=namespace is None))
    return 0
