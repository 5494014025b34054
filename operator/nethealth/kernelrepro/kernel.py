"""Build a small bzImage from Debian's source, with or without the regression patch.

``tinyconfig`` plus the fragment in ``kernelrepro/kernel.config`` (SMP, serial console,
virtio-mmio 9p for the host's filesystem, netns, veth, IPv4/IPv6 multicast and policy
routing) keeps a cold build to minutes on two cores. Builds are expensive and the
machine is shared, so they run at the lowest priority, one at a time (a lock file), and
every result is cached under ``$NETHEALTH_CACHE/kernels/<flavour>-<key>`` where the key
digests everything that decides the image: the source package version, the patch (or
its absence), the config fragment and this recipe's version. A cached image is reused
after one ``stat``; an interrupted build leaves nothing a later run would trust.

A fragment option that does not survive ``olddefconfig`` (a missing dependency) is an
error naming it, not a kernel that boots without 9p and fails obscurely in the VM.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Final

from nethealth.devcluster import buildcache
from nethealth.kernelrepro import assets, source

# Bump when the recipe below changes in a way that changes the image.
RECIPE: Final = "1"
CACHE_ENV: Final = "NETHEALTH_CACHE"
JOBS: Final = 2  # the machines have two cores, shared with other work
IMAGE: Final = "bzImage"


# Commands the build runs, and the Debian package of each; objtool (always on for x86-64
# in 6.1: static calls select it) is compiled against libelf.
BUILD_TOOLS: Final = {
    "make": "make", "gcc": "gcc", "flex": "flex", "bison": "bison", "bc": "bc",
    "patch": "patch", "tar": "tar", "xz": "xz-utils", "nice": "coreutils", "cp": "coreutils",
}  # fmt: skip
LIBELF_HEADER: Final = pathlib.Path("/usr/include/gelf.h")


class Flavour(enum.StrEnum):
    """Which kernel: the regression put back, or Debian's source as shipped."""

    REGRESSION = "regression"
    CONTROL = "control"


class BuildError(Exception):
    """The kernel could not be configured or built; the message says which step."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Kernel:
    """A built kernel image and what it was built from."""

    flavour: Flavour
    image: pathlib.Path
    config: pathlib.Path
    release: str  # what `uname -r` will say inside the VM
    package_version: str  # the Debian source package, e.g. "6.1.192-2"
    key: str
    built: bool  # False when it came from the cache
    seconds: float


def cache_root() -> pathlib.Path:
    """``$NETHEALTH_CACHE``, else ``~/.cache/nethealth``."""
    configured = os.environ.get(CACHE_ENV)
    return pathlib.Path(configured) if configured else pathlib.Path.home() / ".cache" / "nethealth"


def missing_build_tools() -> list[str]:
    """Debian packages the build needs that are not installed (empty when all are)."""
    missing = {package for tool, package in BUILD_TOOLS.items() if shutil.which(tool) is None}
    if not LIBELF_HEADER.is_file():
        missing.add("libelf-dev")
    return sorted(missing)


def local_version(flavour: Flavour) -> str:
    """``CONFIG_LOCALVERSION``: marks the build in ``uname -r`` without hiding the upstream
    version, which is what the probe's kernel table reads (6.1.192 carries the fix, so it
    is assessed as fixed either way: the regression build must be named by the evidence)."""
    return f"-nethealth-{flavour.value}"


def key_of(*, flavour: Flavour, package_version: str) -> str:
    patch = assets.read(assets.PATCH) if flavour == Flavour.REGRESSION else b""
    fragment = assets.read(assets.CONFIG_FRAGMENT)
    return buildcache.key_of(
        RECIPE, source.PACKAGE, package_version, flavour.value, patch, fragment
    )


def ensure(flavour: Flavour, *, cache_dir: pathlib.Path | None = None) -> Kernel:
    """The kernel of ``flavour``, from the cache or built now (minutes when cold)."""
    started = time.monotonic()
    kernels = (cache_dir or cache_root()) / "kernels"
    src = source.installed()
    key = key_of(flavour=flavour, package_version=src.package_version)
    entry = kernels / f"{flavour.value}-{key}"
    built = not (entry / IMAGE).is_file()
    if built and (missing := missing_build_tools()):
        raise BuildError(f"building a kernel needs: apt-get install {' '.join(missing)}")
    if built:
        kernels.mkdir(parents=True, exist_ok=True)
        with _one_build_at_a_time(kernels / ".build.lock"):
            entry = buildcache.entry(
                cache_dir=kernels,
                name=flavour.value,
                key=key,
                build=lambda into: _build(into, flavour=flavour, src=src, kernels=kernels),
                keep=2,
            )
    release = (entry / "release").read_text().strip()
    return Kernel(
        flavour=flavour,
        image=entry / IMAGE,
        config=entry / "config",
        release=release,
        package_version=src.package_version,
        key=key,
        built=built,
        seconds=time.monotonic() - started,
    )


@contextlib.contextmanager
def _one_build_at_a_time(lock: pathlib.Path) -> Iterator[None]:
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(
    into: pathlib.Path, *, flavour: Flavour, src: source.Source, kernels: pathlib.Path
) -> None:
    pristine = source.unpacked(src, cache_dir=kernels)
    # The work tree is big and temporary; named like buildcache's own temporaries so a
    # build killed halfway is swept up by the next one's stale clean-up.
    work = pathlib.Path(tempfile.mkdtemp(prefix=f".{flavour.value}-work.", dir=kernels))
    try:
        tree, out = work / "src", work / "out"
        # Hard links: seconds instead of a 1.4 GiB copy. `patch` writes a new file for
        # what it changes, so the shared tree stays pristine.
        _run(["cp", "-al", str(pristine), str(tree)], step="copying the source tree")
        if flavour == Flavour.REGRESSION:
            _run(
                ["patch", "-p1", "--forward", "-i", str(assets.directory() / assets.PATCH)],
                step=f"applying {assets.PATCH}",
                cwd=tree,
            )
        _configure(tree=tree, out=out, flavour=flavour)
        _run(_make(out, "-j", str(JOBS), IMAGE), step="building bzImage", cwd=tree)
        shutil.copy2(out / "arch" / "x86" / "boot" / IMAGE, into / IMAGE)
        shutil.copy2(out / ".config", into / "config")
        release = (out / "include" / "config" / "kernel.release").read_text().strip()
        (into / "release").write_text(release + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _configure(*, tree: pathlib.Path, out: pathlib.Path, flavour: Flavour) -> None:
    out.mkdir()
    fragment_path = assets.directory() / assets.CONFIG_FRAGMENT
    wanted = assets.wanted_options(fragment_path.read_text())
    wanted["CONFIG_LOCALVERSION"] = f'"{local_version(flavour)}"'
    fragment = out / "nethealth.config"
    fragment.write_text("".join(f"{name}={value}\n" for name, value in wanted.items()))
    _run(_make(out, "tinyconfig"), step="make tinyconfig", cwd=tree)
    _run(
        [
            "scripts/kconfig/merge_config.sh",
            "-m",
            "-O",
            str(out),
            str(out / ".config"),
            str(fragment),
        ],
        step="merging the config fragment",
        cwd=tree,
    )
    _run(_make(out, "olddefconfig"), step="make olddefconfig", cwd=tree)
    missing = unmet_options(config=(out / ".config").read_text(), wanted=wanted)
    if missing:
        raise BuildError(
            "kernel config options did not take effect (a dependency is off):"
            f" {', '.join(missing)}; fix {assets.CONFIG_FRAGMENT}"
        )


def unmet_options(*, config: str, wanted: dict[str, str]) -> list[str]:
    """Options of ``wanted`` whose value in ``config`` (a .config) differs."""
    have: dict[str, str] = {}
    for line in config.splitlines():
        if line.startswith("CONFIG_"):
            name, _, value = line.partition("=")
            have[name] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            have[line[2:].split()[0]] = "n"
    return [
        f"{name}={value} (have {have.get(name, 'n')})"
        for name, value in wanted.items()
        if have.get(name, "n") != value
    ]


def _make(out: pathlib.Path, *targets: str) -> list[str]:
    # Run in the source tree; O= puts every output in `out`, keeping the tree clean.
    return ["make", "-s", f"O={out}", *targets]


def _run(argv: list[str], *, step: str, cwd: pathlib.Path | None = None) -> None:
    # Lowest CPU priority: other people's timing-sensitive tests share the cores.
    done = subprocess.run(
        ["nice", "-n", "19", *argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise BuildError(f"{step} failed ({done.returncode}):\n{tail}")
