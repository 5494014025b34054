"""`nethealth version`: prints the version, so images and installs can be told apart."""

from __future__ import annotations

import argparse

import nethealth

HELP = "print the version and exit"


def configure(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    del args
    print(f"nethealth-operator {nethealth.__version__}")
    return 0
