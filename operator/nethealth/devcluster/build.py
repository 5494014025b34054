"""The ``kubenode`` binary, built from ``cluster/kubenode`` once per set of inputs.

``kubenode`` hosts kube-apiserver, kube-controller-manager, kube-scheduler,
kube-proxy, the kubelet and kube-router's NetworkPolicy controller in one Go
program: one link instead of five, one
cache entry. A cold build takes minutes on two cores, so the result is kept
under ``$NETHEALTH_CACHE/kubenode/<key>/kubenode`` where the key is a digest of
everything that decides the output: the module files, the Go toolchain's
version and the build flags. A warm check hashes three files and runs
``go version``.

``GOTOOLCHAIN=local`` keeps Go from fetching a newer toolchain: a Go 1.27 build
of Kubernetes 1.36 starts but serves broken OpenAPI (its jsonv2 experiment
flips build tags in kube-openapi).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import re
import subprocess
import time

CACHE_ENV = "NETHEALTH_CACHE"
SOURCE_ENV = "NETHEALTH_KUBENODE_SRC"
SOURCE_FILES = ("go.mod", "go.sum", "main.go", "netpol.go")
BUILD_FLAGS = ("-trimpath",)
# Stamped like an official release; unstamped, the components call themselves
# v0.0.0-master and kubectl cannot parse the server version.
VERSION_PACKAGE = "k8s.io/component-base/version"
BINARY_NAME = "kubenode"


class BuildError(Exception):
    """The kubenode binary could not be located or built."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built:
    """A kubenode binary and whether this call had to build it."""

    path: pathlib.Path
    key: str
    fresh: bool
    seconds: float


def cache_root() -> pathlib.Path:
    """``$NETHEALTH_CACHE``, else ``~/.cache/nethealth``."""
    configured = os.environ.get(CACHE_ENV)
    return pathlib.Path(configured) if configured else pathlib.Path.home() / ".cache" / "nethealth"


def find_module(*, name: str, env: str) -> pathlib.Path:
    """The Go module ``cluster/<name>``: ``$<env>`` or the checkout's own."""
    configured = os.environ.get(env)
    if configured:
        candidates = [pathlib.Path(configured)]
    else:
        here = pathlib.Path(__file__).resolve()
        candidates = [parent / "cluster" / name for parent in here.parents]
    for candidate in candidates:
        if (candidate / "go.mod").is_file():
            return candidate
    raise BuildError(
        f"cannot find the {name} Go module (cluster/{name}/go.mod); set {env} "
        "to its directory (it lives in the project's checkout, not in an installed wheel)"
    )


def find_source() -> pathlib.Path:
    """The ``cluster/kubenode`` module: ``$NETHEALTH_KUBENODE_SRC`` or the checkout's own."""
    return find_module(name="kubenode", env=SOURCE_ENV)


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": "local"}


def go_version() -> str:
    try:
        result = subprocess.run(
            ["go", "version"], env=_go_env(), capture_output=True, text=True, check=True
        )
    except FileNotFoundError as exc:
        raise BuildError("`go` is not on PATH: install Go 1.26 to build kubenode") from exc
    except subprocess.CalledProcessError as exc:
        raise BuildError(f"`go version` failed: {exc.stderr.strip()}") from exc
    return result.stdout.strip()


def cache_key(*, source: pathlib.Path, toolchain: str) -> str:
    """A digest of everything that decides the binary's bytes."""
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        data = (source / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    flags = " ".join([*BUILD_FLAGS, ldflags(kubernetes_version(source))])
    digest.update(f"{toolchain}\0{flags}".encode())
    return digest.hexdigest()[:24]


def kubernetes_version(source: pathlib.Path) -> str:
    """The ``k8s.io/kubernetes`` version that ``go.mod`` requires, e.g. ``v1.36.3``."""
    match = re.search(
        r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)", (source / "go.mod").read_text(), re.M
    )
    if match is None:
        raise BuildError(f"{source / 'go.mod'} does not require k8s.io/kubernetes")
    return match.group(1)


def ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    stamps = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    return " ".join(["-s -w", *(f"-X {VERSION_PACKAGE}.{k}={v}" for k, v in stamps.items())])


def binary_path(*, cache: pathlib.Path, key: str) -> pathlib.Path:
    return cache / BINARY_NAME / key / BINARY_NAME


def ensure_kubenode(*, cache: pathlib.Path | None = None) -> Built:
    """The cached kubenode binary for the current sources, building it if missing."""
    started = time.monotonic()
    source = find_source()
    key = cache_key(source=source, toolchain=go_version())
    target = binary_path(cache=cache or cache_root(), key=key)
    if target.is_file():
        return Built(path=target, key=key, fresh=False, seconds=time.monotonic() - started)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its final name and renamed when complete, so an interrupted
    # build never leaves a truncated binary that a later run would trust.
    partial = target.with_name(f".{BINARY_NAME}.{os.getpid()}")
    log = target.with_name("build.log")
    flags = [*BUILD_FLAGS, f"-ldflags={ldflags(kubernetes_version(source))}"]
    command = ["go", "build", *flags, "-o", str(partial), "."]
    with log.open("wb") as output:
        result = subprocess.run(
            command,
            cwd=source,
            env=_go_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise BuildError(
            f"building kubenode failed (exit {result.returncode}); log {log}:\n" + "\n".join(tail)
        )
    os.replace(partial, target)
    return Built(path=target, key=key, fresh=True, seconds=time.monotonic() - started)


def cached_kubenode(*, cache: pathlib.Path | None = None) -> pathlib.Path | None:
    """The cached binary for the current sources, or None when it still needs a build."""
    source = find_source()
    target = binary_path(
        cache=cache or cache_root(), key=cache_key(source=source, toolchain=go_version())
    )
    return target if target.is_file() else None
