"""The ``helm`` binary the chart's tests use, built from the Go module proxy and cached.

There is no package manager download of helm here: ``cluster/helm/go.mod`` pins
``helm.sh/helm/v3`` (as a ``tool`` dependency, with every module's checksum in
``go.sum``), and ``go build`` turns it into a binary. Like ``kubenode`` the result
is cached under a digest of everything that decides its bytes (the module files,
the Go toolchain, the flags), so a warm lookup is a ``stat`` and a ``go version``.

``GOTOOLCHAIN=local`` for the same reason as kubenode: the build must not fetch a
different Go than the machine's own.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import time

from nethealth.devcluster import build, buildcache

SOURCE_ENV = "NETHEALTH_HELM_SRC"
SOURCE_FILES = ("go.mod", "go.sum")
PACKAGE = "helm.sh/helm/v3/cmd/helm"
# Unstamped, `helm version` says v3.x-dev; the chart tests read it in their failures.
VERSION_VARIABLE = "helm.sh/helm/v3/internal/version.version"
BINARY_NAME = "helm"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built:
    """A helm binary and whether this call had to build it."""

    path: pathlib.Path
    version: str
    fresh: bool
    seconds: float


def find_source() -> pathlib.Path:
    """The ``cluster/helm`` module: ``$NETHEALTH_HELM_SRC`` or the checkout's own."""
    return build.find_module(name="helm", env=SOURCE_ENV)


def helm_version(source: pathlib.Path) -> str:
    """The ``helm.sh/helm/v3`` version that ``go.mod`` pins, e.g. ``v3.22.0``."""
    match = re.search(r"^\s*helm\.sh/helm/v3\s+(v\S+)", (source / "go.mod").read_text(), re.M)
    if match is None:
        raise build.BuildError(f"{source / 'go.mod'} does not require helm.sh/helm/v3")
    return match.group(1)


def _flags(version: str) -> list[str]:
    return ["-trimpath", f"-ldflags=-s -w -X {VERSION_VARIABLE}={version}"]


def _key(*, source: pathlib.Path, version: str) -> str:
    files = [(source / name).read_bytes() for name in SOURCE_FILES]
    return buildcache.key_of(build.go_version(), *_flags(version), *files)


def ensure_helm(*, cache: pathlib.Path | None = None) -> Built:
    """The cached helm binary for the pinned version, building it if missing."""
    started = time.monotonic()
    source = find_source()
    version = helm_version(source)
    fresh = False

    def compile_into(directory: pathlib.Path) -> None:
        nonlocal fresh
        fresh = True
        log = directory / "build.log"
        command = ["go", "build", *_flags(version), "-o", str(directory / BINARY_NAME), PACKAGE]
        with log.open("wb") as output:
            result = subprocess.run(
                command,
                cwd=source,
                env={**os.environ, "GOTOOLCHAIN": "local"},
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-30:]
            raise build.BuildError(
                f"building helm {version} failed (exit {result.returncode}):\n" + "\n".join(tail)
            )

    entry = buildcache.entry(
        cache_dir=cache or build.cache_root(),
        name=BINARY_NAME,
        key=_key(source=source, version=version),
        build=compile_into,
    )
    return Built(
        path=entry / BINARY_NAME,
        version=version,
        fresh=fresh,
        seconds=time.monotonic() - started,
    )


def cached_helm(*, cache: pathlib.Path | None = None) -> pathlib.Path | None:
    """The cached binary for the pinned version, or None when it still needs a build."""
    source = find_source()
    key = _key(source=source, version=helm_version(source))
    binary = (cache or build.cache_root()) / f"{BINARY_NAME}-{key}" / BINARY_NAME
    return binary if binary.is_file() else None
