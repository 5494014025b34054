"""`nethealth operator`: runs the kopf operator against the current kubeconfig or in-cluster."""

from __future__ import annotations

import argparse

HELP = "run the operator (in-cluster, or against the current kubeconfig)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeatable); default: the whole cluster",
    )
    parser.add_argument("--verbose", action="store_true", help="log kopf's debug messages")


def run(args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    import kopf  # noqa: PLC0415 - operator-only dependency

    from nethealth import settings  # noqa: PLC0415

    namespaces: list[str] = args.namespace
    # Read by the settings when the handlers load: the sweeps keep to these namespaces.
    os.environ[settings.WATCH_ENV] = ",".join(namespaces)
    from nethealth import handlers  # noqa: F401, PLC0415 - registers the handlers

    kopf.configure(verbose=args.verbose)
    kopf.run(clusterwide=not namespaces, namespaces=namespaces, standalone=True)
    return 0
