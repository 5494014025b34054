"""``kubectl-nethealth``: the console script kubectl runs for ``kubectl nethealth ...``.

kubectl finds any executable named ``kubectl-<name>`` on PATH and passes it the rest of
the command line, so this is the ``nethealth`` CLI cut down to the plugin's commands:
the same modules (``cli.SUBCOMMANDS``), the same flags and exit codes, only the program
name differs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from nethealth import cli

COMMANDS: Final = ("diagnose", "status", "revert")
PROG: Final = "kubectl nethealth"


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64, as in ``cli`` (2 is "inconclusive" for diagnose)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(cli.USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Diagnose a pod's network now, list NetHealthChecks, undo a remediation.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(cli.SUBCOMMANDS[name])
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args._run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
