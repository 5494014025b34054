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
    import kopf  # noqa: PLC0415 - operator-only dependency

    from nethealth import handlers  # noqa: F401, PLC0415 - registers the handlers

    kopf.configure(verbose=args.verbose)
    namespaces: list[str] = args.namespace
    kopf.run(clusterwide=not namespaces, namespaces=namespaces, standalone=True)
    return 0
