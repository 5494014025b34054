"""A directory cache of build outputs, keyed by a digest of their inputs.

Image layers take from milliseconds (a static pause binary) to minutes (a
Debian rootfs) to build, and tests ask for them on every run. Each output is a
directory ``<name>-<key>`` whose key is a digest of everything that went into
it, so a warm lookup is one ``stat`` and a changed input simply misses.

An entry is built in a hidden temporary directory beside its final place and
renamed into it only when complete: a crash or a Ctrl-C never leaves a half
image where a later run would trust it. Two runs racing on the same entry both
build it; the first rename wins and the loser's copy is thrown away.

Inputs such as the project's sources change all the time, so each name keeps
only its few most recently used entries; older ones are deleted when a new one
is added.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import tempfile
import time
from collections.abc import Callable

# Temporary directories older than this are from a run that died; newer ones
# may belong to a build still in progress in another process.
STALE_AFTER_SECONDS = 6 * 3600

# Entries kept per name: the new one and the previous ones a branch switch or
# an undo may want back.
KEEP = 3


def key_of(*parts: str | bytes) -> str:
    """A short digest of the parts, in order, with their boundaries preserved."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:20]


def _remove_stale_temporaries(*, cache_dir: pathlib.Path, name: str) -> None:
    now = time.time()
    for leftover in cache_dir.glob(f".{name}-*"):
        try:
            if now - leftover.lstat().st_mtime > STALE_AFTER_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except FileNotFoundError:
            pass


def _entries_of(*, cache_dir: pathlib.Path, name: str) -> list[pathlib.Path]:
    prefix = f"{name}-"
    return [
        path
        for path in cache_dir.glob(f"{prefix}*")
        if "-" not in path.name[len(prefix) :] and path.is_dir()
    ]


def _remove_least_recently_used(*, cache_dir: pathlib.Path, name: str, keep: int) -> None:
    entries = sorted(
        _entries_of(cache_dir=cache_dir, name=name),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def entry_dir(*, cache_dir: pathlib.Path, name: str, key: str) -> pathlib.Path:
    """Where the entry ``name``/``key`` lives once built (it may not exist yet)."""
    return cache_dir / f"{name}-{key}"


def entry(
    *,
    cache_dir: pathlib.Path,
    name: str,
    key: str,
    build: Callable[[pathlib.Path], None],
    keep: int = KEEP,
) -> pathlib.Path:
    """The directory of the cached entry ``name``/``key``, building it first if missing.

    ``build`` gets an empty directory to fill; it becomes the entry only if
    ``build`` returns normally. Of the entries of ``name``, the ``keep`` most
    recently used stay.
    """
    if "-" in key or "/" in key or "/" in name:
        raise ValueError(f"cache key {key!r} and name {name!r} must not contain '-' or '/'")
    final = entry_dir(cache_dir=cache_dir, name=name, key=key)
    if final.is_dir():
        # Marks it as used, for the least-recently-used clean-up.
        os.utime(final)
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(cache_dir=cache_dir, name=name)
    work = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}-{key}.", dir=cache_dir))
    try:
        build(work)
        try:
            os.rename(work, final)
        except OSError:
            if not final.is_dir():
                raise
            # Another process finished the same entry first; its copy is as good.
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    os.utime(final)
    _remove_least_recently_used(cache_dir=cache_dir, name=name, keep=keep)
    return final
