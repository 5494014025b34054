"""Image layers holding Python packages, installed by this machine's pip.

The image's interpreter is Debian bookworm's Python 3.11, and so is the
version this project's tooling runs on, so binary wheels pip picks here run
there. Packages go to ``/usr/local/lib/python3.11/dist-packages``, which
Debian's interpreter searches by default; nothing else in the image changes.

Two layers, because they change at different rates: the dependencies (kopf,
the Kubernetes client, ...) change only with ``pyproject.toml``'s dependency
list, the project itself with every edit. A source edit rebuilds a layer of a
few hundred kilobytes, not one of tens of megabytes.

Console scripts pip writes point at the interpreter that ran pip, which does
not exist in the image, so they are dropped; the image gets its own
``nethealth`` script for Debian's ``/usr/bin/python3``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence

# Debian bookworm's interpreter; pip must run on the same minor version to pick
# wheels whose binary parts that interpreter can load.
PYTHON_VERSION = "3.11"
SITE_PACKAGES = f"usr/local/lib/python{PYTHON_VERSION}/dist-packages"
SCRIPT_PATH = "usr/local/bin/nethealth"
SCRIPT = """#!/usr/bin/python3
import sys

from nethealth.cli import main

sys.exit(main())
"""

# Parts of dependencies the project never imports, left out of the image because
# of their size: the Kubernetes client's asyncio twin is about half of the whole
# dependency layer (kopf has its own async API client). A unit test checks that
# no project module imports them.
PRUNED = ("kubernetes/aio",)

# What the project's wheel is built from; the app layer's key hashes exactly these.
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")
PACKAGE_DIR = "operator/nethealth"


def dependencies(pyproject: pathlib.Path) -> list[str]:
    """The runtime requirements listed in ``pyproject.toml``'s ``[project]`` table."""
    data = tomllib.loads(pyproject.read_text())
    deps = data.get("project", {}).get("dependencies")
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ValueError(f"{pyproject}: [project].dependencies must be a list of strings")
    return sorted(deps)


def project_sources(project_root: pathlib.Path) -> list[pathlib.Path]:
    """The files the project's wheel is built from, relative to the root, sorted."""
    sources = [pathlib.Path(f) for f in PROJECT_FILES if (project_root / f).is_file()]
    for path in sorted((project_root / PACKAGE_DIR).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            sources.append(path.relative_to(project_root))
    return sources


def _check_interpreter() -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != PYTHON_VERSION:
        raise RuntimeError(
            f"the image's Python is {PYTHON_VERSION}, but pip would run on Python {running}: "
            f"build the images with a Python {PYTHON_VERSION} interpreter"
        )


def _pip(args: Sequence[str], *, log: pathlib.Path) -> None:
    _check_interpreter()
    command = [
        sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args
    ]  # fmt: skip
    with log.open("ab") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"pip {args[0]} failed:\n" + "\n".join(tail))


def _finish(root: pathlib.Path) -> None:
    """Drop pip's scripts and caches; byte-compile for the image's paths."""
    site = root / SITE_PACKAGES
    shutil.rmtree(site / "bin", ignore_errors=True)
    for relative in PRUNED:
        shutil.rmtree(site / relative, ignore_errors=True)
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache)
    # unchecked-hash: the layer tarball resets mtimes, which would invalidate
    # ordinary caches, and a non-root container could not rewrite them.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-s", str(root), "-p", "/",
         "--invalidation-mode", "unchecked-hash", str(site)],
        check=False,  # a test fixture with Python 2 syntax in some package is not our concern
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def install_dependencies(*, requirements: Sequence[str], root: pathlib.Path) -> None:
    """Install the requirements (and theirs) into the layer directory ``root``."""
    site = root / SITE_PACKAGES
    site.mkdir(parents=True)
    _pip(
        ["install", "--no-compile", "--only-binary=:all:", "--target", str(site), *requirements],
        log=root.parent / f"{root.name}.pip.log",
    )
    _finish(root)


def install_project(*, project_root: pathlib.Path, root: pathlib.Path) -> None:
    """Build the project's wheel from its sources and install it, without dependencies.

    The sources are copied to a scratch directory first, so building never
    writes ``build/`` or ``*.egg-info`` into the working tree.
    """
    scratch = root.parent / f"{root.name}.src"
    for relative in project_sources(project_root):
        (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_root / relative, scratch / relative)
    if not (scratch / "README.md").exists():
        (scratch / "README.md").write_text("nethealth-operator\n")
    site = root / SITE_PACKAGES
    site.mkdir(parents=True)
    try:
        _pip(
            ["install", "--no-deps", "--no-compile", "--target", str(site), str(scratch)],
            log=root.parent / f"{root.name}.pip.log",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _finish(root)
    script = root / SCRIPT_PATH
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    os.chmod(script, 0o755)
