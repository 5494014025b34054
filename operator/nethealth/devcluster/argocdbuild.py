"""The ``argocd`` binary the Argo CD tests run, built from the Go module proxy and cached.

``cluster/argocd`` is a small main package that hosts only the parts of Argo CD
the tests need: the application controller, the repo server and the Git
ask-pass helper the repo server calls itself as. It dispatches on the name it
is called by, like Argo CD's own ``cmd/main.go``, so the harness links the one
binary under each name. Its ``go.mod`` repeats Argo CD's own ``replace`` lines
(they apply only in the main module), as ``cluster/kubenode`` does for
Kubernetes.

Cached like ``coredns``: under a digest of the module files, the Go toolchain
and the flags, so a warm lookup is a ``stat`` and a ``go version``. Static
(``CGO_ENABLED=0``, as Argo CD's own release builds), stripped, ``-trimpath``,
and stamped with the Argo CD version its logs and ``--version`` report.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import time

from nethealth.devcluster import build, buildcache

SOURCE_ENV = "NETHEALTH_ARGOCD_SRC"
SOURCE_FILES = ("go.mod", "go.sum", "main.go")
MODULE = "github.com/argoproj/argo-cd/v2"
# Unstamped, Argo CD calls itself 99.99.99.
VERSION_VARIABLE = f"{MODULE}/common.version"
BINARY_NAME = "argocd"
# The names the binary answers to (main.go's dispatch).
APPLICATION_CONTROLLER = "argocd-application-controller"
REPO_SERVER = "argocd-repo-server"
GIT_ASK_PASS = "argocd-git-ask-pass"
COMMANDS = (APPLICATION_CONTROLLER, REPO_SERVER, GIT_ASK_PASS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built:
    """An argocd binary and whether this call had to build it."""

    path: pathlib.Path
    version: str
    fresh: bool
    seconds: float

    def command(self, name: str) -> pathlib.Path:
        """The link that runs ``name`` (one of ``COMMANDS``), beside the binary."""
        if name not in COMMANDS:
            raise ValueError(f"argocd has no command {name!r}; it has {', '.join(COMMANDS)}")
        return self.path.parent / name


def find_source() -> pathlib.Path:
    """The ``cluster/argocd`` module: ``$NETHEALTH_ARGOCD_SRC`` or the checkout's own."""
    return build.find_module(name="argocd", env=SOURCE_ENV)


def argocd_version(source: pathlib.Path) -> str:
    """The Argo CD version ``go.mod`` requires, e.g. ``v2.14.21``."""
    text = (source / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(MODULE)}\s+(v\S+)", text, re.M)
    if match is None:
        raise build.BuildError(f"{source / 'go.mod'} does not require {MODULE}")
    return match.group(1)


def _flags(version: str) -> list[str]:
    return ["-trimpath", f"-ldflags=-s -w -X {VERSION_VARIABLE}={version.lstrip('v')}"]


def _key(*, source: pathlib.Path, version: str) -> str:
    files = [(source / name).read_bytes() for name in SOURCE_FILES]
    return buildcache.key_of(build.go_version(), "CGO_ENABLED=0", *_flags(version), *files)


def ensure_argocd(*, cache: pathlib.Path | None = None) -> Built:
    """The cached argocd binary (and its command links), building it if missing."""
    started = time.monotonic()
    source = find_source()
    version = argocd_version(source)
    fresh = False

    def compile_into(directory: pathlib.Path) -> None:
        nonlocal fresh
        fresh = True
        log = directory / "build.log"
        command = ["go", "build", *_flags(version), "-o", str(directory / BINARY_NAME), "."]
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
        with log.open("wb") as output:
            result = subprocess.run(
                command, cwd=source, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-30:]
            raise build.BuildError(
                f"building argocd failed (exit {result.returncode}):\n" + "\n".join(tail)
            )
        for name in COMMANDS:
            (directory / name).symlink_to(BINARY_NAME)

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
