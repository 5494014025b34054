"""The reproduction's checked-in inputs: kernel patch, config fragment, VM init.

They live in the checkout's top-level ``kernelrepro/`` folder, next to ``operator/``,
because they are not Python and belong to the test setup rather than the installed
package; ``$NETHEALTH_KERNELREPRO_DIR`` points elsewhere (e.g. for a wheel install).
"""

from __future__ import annotations

import os
import pathlib
from typing import Final

DIR_ENV: Final = "NETHEALTH_KERNELREPRO_DIR"
PATCH: Final = "broadcast-route-cache.patch"
CONFIG_FRAGMENT: Final = "kernel.config"
INIT: Final = "init.sh"


class MissingAssets(Exception):
    """The ``kernelrepro/`` folder (patch, config, init) cannot be found."""


def directory() -> pathlib.Path:
    """The folder holding the patch, the config fragment and the VM's init script."""
    configured = os.environ.get(DIR_ENV)
    here = pathlib.Path(__file__).resolve()
    candidates = (
        [pathlib.Path(configured)] if configured else [p / "kernelrepro" for p in here.parents]
    )
    for candidate in candidates:
        if all((candidate / name).is_file() for name in (PATCH, CONFIG_FRAGMENT, INIT)):
            return candidate
    raise MissingAssets(
        f"cannot find kernelrepro/{{{PATCH},{CONFIG_FRAGMENT},{INIT}}}; set {DIR_ENV} to the"
        " folder (it lives in the project's checkout, not in an installed wheel)"
    )


def read(name: str) -> bytes:
    return (directory() / name).read_bytes()


def wanted_options(fragment: str) -> dict[str, str]:
    """``CONFIG_X=value`` lines of a config fragment; comments and blanks skipped."""
    options: dict[str, str] = {}
    for number, raw in enumerate(fragment.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.startswith("CONFIG_"):
            raise ValueError(f"{CONFIG_FRAGMENT} line {number}: expected CONFIG_NAME=value")
        options[name] = value
    return options
