"""The ``coredns`` binary of the cluster's DNS, built from the Go module proxy and cached.

``cluster/coredns`` is a small main package that imports only the plugins the
cluster's Corefile uses (``addons.COREFILE``) from ``github.com/coredns/coredns``,
so a cold build compiles a fraction of CoreDNS's dependencies. Static
(``CGO_ENABLED=0``): the image holds the binary and nothing else. Cached like
``helm``, under a digest of the module files, the Go toolchain and the flags.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import time

from nethealth.devcluster import build, buildcache

SOURCE_ENV = "NETHEALTH_COREDNS_SRC"
SOURCE_FILES = ("go.mod", "go.sum", "main.go")
BUILD_FLAGS = ("-trimpath", "-ldflags=-s -w")
BINARY_NAME = "coredns"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built:
    path: pathlib.Path
    version: str
    fresh: bool
    seconds: float


def find_source() -> pathlib.Path:
    return build.find_module(name="coredns", env=SOURCE_ENV)


def coredns_version(source: pathlib.Path) -> str:
    """The ``github.com/coredns/coredns`` version ``go.mod`` pins, e.g. ``v1.15.0``."""
    text = (source / "go.mod").read_text()
    match = re.search(r"^\s*(?:require\s+)?github\.com/coredns/coredns\s+(v\S+)", text, re.M)
    if match is None:
        raise build.BuildError(f"{source / 'go.mod'} does not require github.com/coredns/coredns")
    return match.group(1)


def _key(source: pathlib.Path) -> str:
    files = [(source / name).read_bytes() for name in SOURCE_FILES]
    return buildcache.key_of(build.go_version(), "CGO_ENABLED=0", *BUILD_FLAGS, *files)


def ensure_coredns(*, cache: pathlib.Path | None = None) -> Built:
    """The cached coredns binary for the current sources, building it if missing."""
    started = time.monotonic()
    source = find_source()
    fresh = False

    def compile_into(directory: pathlib.Path) -> None:
        nonlocal fresh
        fresh = True
        log = directory / "build.log"
        command = ["go", "build", *BUILD_FLAGS, "-o", str(directory / BINARY_NAME), "."]
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
        with log.open("wb") as output:
            result = subprocess.run(
                command, cwd=source, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-30:]
            raise build.BuildError(
                f"building coredns failed (exit {result.returncode}):\n" + "\n".join(tail)
            )

    entry = buildcache.entry(
        cache_dir=cache or build.cache_root(),
        name=BINARY_NAME,
        key=_key(source),
        build=compile_into,
    )
    return Built(
        path=entry / BINARY_NAME,
        version=coredns_version(source),
        fresh=fresh,
        seconds=time.monotonic() - started,
    )
