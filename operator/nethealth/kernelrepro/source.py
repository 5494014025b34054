"""Debian's kernel source: the ``linux-source-<series>`` package's tarball, unpacked once.

Debian ships its patched kernel tree as ``/usr/src/linux-source-<series>.tar.xz``; the
package version (``6.1.192-2``) names exactly which tree it is, so it goes into every
cache key. Unpacking takes seconds and ~1.4 GiB; the tree is kept in the cache and each
kernel build works on a hard-linked copy, so patching one build never touches another.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import subprocess
from typing import Final

from nethealth.devcluster import buildcache

SERIES: Final = "6.1"
PACKAGE: Final = f"linux-source-{SERIES}"
TARBALL: Final = pathlib.Path(f"/usr/src/{PACKAGE}.tar.xz")
# The tarball's single top-level directory.
TOP_DIR: Final = PACKAGE


class MissingSource(Exception):
    """The Debian kernel source package is not installed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Source:
    """A kernel source tarball and the Debian package version it came from."""

    tarball: pathlib.Path
    package_version: str  # e.g. "6.1.192-2"


def installed(*, tarball: pathlib.Path = TARBALL, package: str = PACKAGE) -> Source:
    """The installed source package, or a clear error saying how to install it."""
    if not tarball.is_file():
        raise MissingSource(f"{tarball} is missing: `apt-get install {package}` provides it")
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    version = done.stdout.strip()
    if done.returncode != 0 or not version:
        raise MissingSource(f"dpkg does not know {package}: `apt-get install {package}`")
    return Source(tarball=tarball, package_version=version)


def upstream_version(tree: pathlib.Path) -> str:
    """``6.1.192`` from the tree's top Makefile (VERSION, PATCHLEVEL, SUBLEVEL)."""
    text = (tree / "Makefile").read_text(encoding="utf-8", errors="replace")
    parts = []
    for field in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        match = re.search(rf"^{field} = (\d+)$", text, flags=re.MULTILINE)
        if match is None:
            raise MissingSource(f"{tree}/Makefile has no {field}: not a kernel tree")
        parts.append(match.group(1))
    return ".".join(parts)


def unpacked(source: Source, *, cache_dir: pathlib.Path) -> pathlib.Path:
    """The unpacked tree (cached by package version); its top directory is returned."""

    def unpack(into: pathlib.Path) -> None:
        subprocess.run(
            ["nice", "-n", "19", "tar", "-xJf", str(source.tarball), "-C", str(into)],
            check=True,
        )

    key = buildcache.key_of(PACKAGE, source.package_version)
    entry = buildcache.entry(cache_dir=cache_dir, name="source", key=key, build=unpack, keep=1)
    return entry / TOP_DIR
