"""`nethealth crd`: prints the NetHealthCheck CRD or its reference, writes them, or checks
the kept copies.

The CRD is generated from the model; the repository keeps it in ``crds/`` and in the
chart, and keeps the configuration reference (a Markdown table of every spec field,
rendered from the same model) in ``docs/configuration.md`` between two markers.
``--check`` is for CI: it fails when a copy differs from what the model renders.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

HELP = "print the NetHealthCheck CRD or its reference (or --write / --check the copies)"
# The document that carries the generated reference, relative to the repository root.
REFERENCE_DOC = pathlib.Path("docs/configuration.md")


def configure(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if crds/, the chart's copy or {REFERENCE_DOC} differs from the model",
    )
    action.add_argument(
        "--write",
        action="store_true",
        help=f"write the generated CRD to crds/ and the chart, and the reference to "
        f"{REFERENCE_DOC}",
    )
    action.add_argument(
        "--reference",
        action="store_true",
        help="print the configuration reference (a Markdown table of every spec field)",
    )
    parser.add_argument(
        "--root",
        type=pathlib.Path,
        default=pathlib.Path.cwd(),
        help="repository root holding crds/, charts/ and docs/ (default: the current directory)",
    )


def reference() -> str:
    """The Markdown table of every ``spec`` field."""
    from nethealth import model  # noqa: PLC0415 - keep `nethealth --help` light
    from nethealth.schema import reference as ref  # noqa: PLC0415

    return ref.markdown(ref.rows(model.SPEC, path="spec"))


def expected(root: pathlib.Path) -> dict[pathlib.Path, str]:
    """Every kept copy under ``root`` and the text it must have."""
    from nethealth.model import definition  # noqa: PLC0415
    from nethealth.schema import reference as ref  # noqa: PLC0415

    text = definition.render()
    copies = {root / relative: text for relative in definition.PATHS}
    doc = root / REFERENCE_DOC
    # A missing document is created with the table alone; one without markers is refused.
    current = doc.read_text(encoding="utf-8") if doc.is_file() else f"{ref.BEGIN}\n{ref.END}\n"
    try:
        copies[doc] = ref.splice(current, generated=reference())
    except ValueError as error:
        # A missing or mangled marker must not be "fixed" by overwriting the prose around it.
        raise SystemExit(f"{doc}: {error}") from None
    return copies


def run(args: argparse.Namespace) -> int:
    if args.reference:
        sys.stdout.write(reference())
        return 0
    if args.write:
        for path, text in expected(args.root).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
        return 0
    if args.check:
        stale = [
            path
            for path, text in expected(args.root).items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} differs from the model; run `nethealth crd --write`", file=sys.stderr)
        return 1 if stale else 0
    from nethealth.model import definition  # noqa: PLC0415

    sys.stdout.write(definition.render())
    return 0
