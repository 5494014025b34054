"""The flags every plugin command shares: which cluster, as kubectl takes them.

Kept apart from ``api`` so that building the parser never imports the Kubernetes client
(``cli`` builds every command's parser, the probe Job's included).
"""

from __future__ import annotations

import argparse


def add_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster (as kubectl)")
    group.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)",
    )
    group.add_argument("--context", metavar="NAME", help="the kubeconfig context to use")


def add_namespace(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    if all_namespaces:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("-n", "--namespace", metavar="NS", help="default: the context's")
        which.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    else:
        parser.add_argument("-n", "--namespace", metavar="NS", help="default: the context's")
