"""A Go binary built from a small module under ``cluster/`` and the Go module proxy, cached
by everything that decides its bytes.

``helm``, ``coredns`` and ``argocd`` are each a ``Recipe``: the module folder (or an
environment variable naming another), the module files, the flags, whether it is static.
``ensure`` builds it once into ``buildcache`` under a digest of the module files, the Go
toolchain and the flags, so a warm lookup is a ``stat`` and a ``go version``.
``GOTOOLCHAIN=local`` as for kubenode: the build must not fetch a different Go than the
machine's own.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import time
from collections.abc import Callable

from nethealth.devcluster import build, buildcache


@dataclasses.dataclass(frozen=True, kw_only=True)
class Recipe:
    name: str  # the binary's name, and its cache entry's
    folder: str  # the module under cluster/
    source_env: str  # names another module folder (a developer's checkout)
    source_files: tuple[str, ...]  # the module's files: they decide the bytes
    requires: str  # the module path whose required version is the binary's version
    flags: Callable[[str], list[str]]  # go build flags, from that version
    package: str = "."
    static: bool = False  # CGO_ENABLED=0
    links: tuple[str, ...] = ()  # further names beside the binary, linked to it


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built:
    """A binary and whether this call had to build it."""

    path: pathlib.Path
    version: str
    fresh: bool
    seconds: float


def find_source(recipe: Recipe) -> pathlib.Path:
    """The recipe's module: ``$<source_env>`` or the checkout's own ``cluster/<folder>``."""
    return build.find_module(name=recipe.folder, env=recipe.source_env)


def required_version(recipe: Recipe, source: pathlib.Path) -> str:
    """The version of ``recipe.requires`` that ``go.mod`` pins, e.g. ``v3.22.0``."""
    text = (source / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(recipe.requires)}\s+(v\S+)", text, re.M)
    if match is None:
        raise build.BuildError(f"{source / 'go.mod'} does not require {recipe.requires}")
    return match.group(1)


def key(recipe: Recipe, *, source: pathlib.Path, version: str) -> str:
    files = [(source / name).read_bytes() for name in recipe.source_files]
    static = ["CGO_ENABLED=0"] if recipe.static else []
    return buildcache.key_of(build.go_version(), *static, *recipe.flags(version), *files)


def ensure(recipe: Recipe, *, cache: pathlib.Path | None = None) -> Built:
    """The cached binary for the module as it is, building it if missing."""
    started = time.monotonic()
    source = find_source(recipe)
    version = required_version(recipe, source)
    fresh = False

    def compile_into(directory: pathlib.Path) -> None:
        nonlocal fresh
        fresh = True
        _compile(recipe, source=source, version=version, directory=directory)

    entry = buildcache.entry(
        cache_dir=cache or build.cache_root(),
        name=recipe.name,
        key=key(recipe, source=source, version=version),
        build=compile_into,
    )
    return Built(
        path=entry / recipe.name, version=version, fresh=fresh, seconds=time.monotonic() - started
    )


def cached(recipe: Recipe, *, cache: pathlib.Path | None = None) -> pathlib.Path | None:
    """The cached binary for the module as it is, or None when it still needs a build."""
    source = find_source(recipe)
    digest = key(recipe, source=source, version=required_version(recipe, source))
    entry = buildcache.entry_dir(
        cache_dir=cache or build.cache_root(), name=recipe.name, key=digest
    )
    binary = entry / recipe.name
    return binary if binary.is_file() else None


def _compile(
    recipe: Recipe, *, source: pathlib.Path, version: str, directory: pathlib.Path
) -> None:
    log = directory / "build.log"
    output = str(directory / recipe.name)
    command = ["go", "build", *recipe.flags(version), "-o", output, recipe.package]
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    if recipe.static:
        env["CGO_ENABLED"] = "0"
    with log.open("wb") as sink:
        result = subprocess.run(
            command, cwd=source, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise build.BuildError(
            f"building {recipe.name} {version} failed (exit {result.returncode}):\n"
            + "\n".join(tail)
        )
    for name in recipe.links:
        (directory / name).symlink_to(recipe.name)
