"""``python -m nethealth.kernelrepro build``: build (or find cached) both test kernels.

CI runs this in its setup step so the kernel tier's test time is the VMs' alone, and so
a broken toolchain fails the build step with the compiler's message.
"""

from __future__ import annotations

import argparse
import sys

from nethealth.kernelrepro import kernel, source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nethealth.kernelrepro")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the regression and control kernels (cached)")
    build.add_argument(
        "--flavour",
        choices=[f.value for f in kernel.Flavour],
        action="append",
        help="only this kernel (repeatable; default: both)",
    )
    args = parser.parse_args(argv)
    flavours = [kernel.Flavour(f) for f in args.flavour or [f.value for f in kernel.Flavour]]
    try:
        for flavour in flavours:
            built = kernel.ensure(flavour)
            how = "built" if built.built else "cached"
            print(f"{flavour}: {built.image} ({built.release}, {how}, {built.seconds:.1f} s)")
    except (kernel.BuildError, source.MissingSource) as e:
        print(f"nethealth.kernelrepro: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
