"""Placeholder: replaced by the module's owner."""

from __future__ import annotations

import argparse

HELP = "(not implemented yet)"


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    raise SystemExit("not implemented yet")
