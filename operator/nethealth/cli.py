"""The `nethealth` command line: one entry point, one module per subcommand.

Each subcommand module exposes ``HELP``, ``configure(parser)`` and ``run(args)``.
They are imported only to build the parser, so they keep heavy imports (kopf,
the Kubernetes client) inside ``run``: the probe Job starts the same console
script and should not pay for the operator's dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

SUBCOMMANDS: dict[str, str] = {
    "operator": "nethealth.commands.operator",
    "probe": "nethealth.probe.command",
    "cure": "nethealth.probe.cure",
    "crd": "nethealth.commands.crd",
    "cluster": "nethealth.devcluster.command",
    "demo": "nethealth.commands.demo",
    "version": "nethealth.commands.version",
    # The kubectl plugin's commands (also `kubectl nethealth ...`, nethealth.plugin.entry).
    "diagnose": "nethealth.commands.diagnose",
    "status": "nethealth.commands.status",
    "revert": "nethealth.commands.revert",
}


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


USAGE_ERROR = 64  # EX_USAGE: not 2, which the probe uses for "inconclusive"


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 everywhere: subparsers are built from this class too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nethealth",
        description="Detect, diagnose and remediate pod networking the cluster cannot see.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = _load(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args._run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
