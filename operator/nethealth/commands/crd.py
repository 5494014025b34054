"""`nethealth crd`: prints the NetHealthCheck CRD, writes it, or checks the kept copies.

The CRD is generated from the model; the repository keeps it in ``crds/`` and in the
chart. ``--check`` is for CI: it fails when a copy differs from what the model renders.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

HELP = "print the NetHealthCheck CRD (or --write / --check the copies in the repository)"


def configure(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if crds/ or the chart's copy differs from the generated CRD",
    )
    action.add_argument(
        "--write", action="store_true", help="write the generated CRD to crds/ and the chart"
    )
    parser.add_argument(
        "--root",
        type=pathlib.Path,
        default=pathlib.Path.cwd(),
        help="repository root holding crds/ and charts/ (default: the current directory)",
    )


def run(args: argparse.Namespace) -> int:
    from nethealth import crd  # noqa: PLC0415 - keep `nethealth --help` light

    text = crd.render()
    if args.write:
        for relative in crd.PATHS:
            path = args.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
        return 0
    if args.check:
        stale = [
            path
            for path in (args.root / relative for relative in crd.PATHS)
            if not path.is_file() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} differs from the model; run `nethealth crd --write`", file=sys.stderr)
        return 1 if stale else 0
    sys.stdout.write(text)
    return 0
