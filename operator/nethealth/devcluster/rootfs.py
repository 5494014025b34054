"""A minimal Debian root filesystem for images, made with debootstrap.

The operator and probe image needs a Python interpreter and little else.
``debootstrap --variant=minbase`` installs Debian's essential packages plus
the ones asked for, from the same mirror this machine's apt uses (the only
package source reachable here), without any container engine. What a running
container never reads — documentation, translations, apt's package lists and
downloaded .debs, logs of the bootstrap — is removed to keep the layer small.

Files the runtime provides per container (``/etc/resolv.conf``,
``/etc/hostname``) are reset: debootstrap copies the build machine's own.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess

DEFAULT_MIRROR = "http://deb.debian.org/debian"
SOURCES_DIR = pathlib.Path("/etc/apt/sources.list.d")
SOURCES_LIST = pathlib.Path("/etc/apt/sources.list")

# Paths under the rootfs whose contents a container never needs.
STRIPPED_CONTENTS = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bash-completion",
    # glibc's iconv modules: Python has its own codecs, nothing here uses iconv.
    "usr/lib/x86_64-linux-gnu/gconv",
    "var/cache/apt",
    "var/cache/debconf",
    "var/lib/apt/lists",
    "var/log",
    "dev",
    "run",
    "tmp",
)
STRIPPED_FILES = (
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DebianRootfs:
    """What to bootstrap: these decide the rootfs's contents, and so its cache key."""

    suite: str
    packages: tuple[str, ...]
    variant: str = "minbase"


def mirrors_in_deb822(text: str, *, suite: str) -> list[str]:
    """URIs of the binary (``deb``) sources for ``suite`` in a deb822 ``.sources`` file."""
    mirrors: list[str] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            field, _, value = line.partition(":")
            fields[field.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
            mirrors.extend(fields.get("uris", "").split())
    return mirrors


def mirrors_in_one_line_format(text: str, *, suite: str) -> list[str]:
    """URIs of the ``deb`` lines for ``suite`` in a classic ``sources.list``."""
    mirrors: list[str] = []
    for line in text.splitlines():
        words = [w for w in line.split() if not w.startswith("[")]
        if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
            mirrors.append(words[1])
    return mirrors


def host_mirror(*, suite: str) -> str:
    """The Debian mirror this machine's apt fetches ``suite`` from.

    ``NETHEALTH_DEBIAN_MIRROR`` overrides it; without any apt source for the
    suite, Debian's own redirector is used.
    """
    override = os.environ.get("NETHEALTH_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[str] = []
    for path in sorted(SOURCES_DIR.glob("*.sources")):
        candidates += mirrors_in_deb822(path.read_text(), suite=suite)
    for path in [SOURCES_LIST, *sorted(SOURCES_DIR.glob("*.list"))]:
        if path.is_file():
            candidates += mirrors_in_one_line_format(path.read_text(), suite=suite)
    return candidates[0] if candidates else DEFAULT_MIRROR


def _empty_directory(path: pathlib.Path) -> None:
    if not path.is_dir() or path.is_symlink():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def strip(root: pathlib.Path) -> None:
    """Remove what a container never reads from a bootstrapped rootfs."""
    for relative in STRIPPED_CONTENTS:
        _empty_directory(root / relative)
    for relative in STRIPPED_FILES:
        (root / relative).unlink(missing_ok=True)
    for cache in root.glob("usr/lib/python3*/**/__pycache__"):
        shutil.rmtree(cache)
    (root / "tmp").chmod(0o1777)
    (root / "etc/resolv.conf").write_text("")
    (root / "etc/hostname").write_text("localhost\n")


def _unmount_under(root: pathlib.Path) -> None:
    prefix = str(root.resolve()) + "/"
    mounts = pathlib.Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1].replace("\\040", " ") for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False)


def bootstrap(*, spec: DebianRootfs, target: pathlib.Path, log: pathlib.Path) -> None:
    """Bootstrap the rootfs into the (empty or missing) ``target`` directory, stripped.

    debootstrap's output goes to ``log``; on failure its tail is in the error.
    Needs root, as debootstrap does.
    """
    if os.geteuid() != 0:
        raise PermissionError("debootstrap needs root to build the Debian rootfs")
    if shutil.which("debootstrap") is None:
        raise FileNotFoundError("debootstrap is not installed (apt-get install debootstrap)")
    command = [
        "debootstrap",
        f"--variant={spec.variant}",
        f"--include={','.join(spec.packages)}",
        spec.suite,
        str(target),
        host_mirror(suite=spec.suite),
    ]
    try:
        with log.open("wb") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    finally:
        # debootstrap mounts /proc and /sys inside the target; a killed run can
        # leave them, and deleting the target must never descend into them.
        _unmount_under(target)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(
            f"debootstrap failed with exit code {result.returncode}:\n" + "\n".join(tail)
        )
    strip(target)
    compile_python(target)


def compile_python(root: pathlib.Path) -> None:
    """Byte-compile the rootfs's Python standard library, valid whatever the file mtimes.

    Debian compiles it at install time, but those caches check source mtimes,
    which the image's layer tarball resets; and a container running as
    non-root cannot write new ones, so it would recompile on every start.
    """
    for stdlib in sorted(root.glob("usr/lib/python3.[0-9]*")):
        interpreter = "/usr/bin/" + stdlib.name
        subprocess.run(
            [
                "chroot",
                str(root),
                interpreter,
                "-m",
                "compileall",
                "-q",
                "--invalidation-mode",
                "unchecked-hash",
                "/" + str(stdlib.relative_to(root)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
