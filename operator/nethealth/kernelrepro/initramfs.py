"""A tiny initramfs: busybox and the VM's init script, written as a newc cpio archive.

The VM's real userland is the host's, shared read-only over 9p; the initramfs only has
to mount it and hand over, so busybox (Debian's ``busybox-static``) is all it carries.
The archive is written here rather than with ``cpio``: the device node the kernel needs
for init's console (``/dev/console``) can be described in an archive without root, and
the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import dataclasses
import gzip
import pathlib
import stat
from collections.abc import Iterable
from typing import Final

BUSYBOX: Final = pathlib.Path("/bin/busybox")
_TRAILER: Final = "TRAILER!!!"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Member:
    """One archive entry: a directory, a regular file or a character device."""

    path: str  # without a leading slash
    mode: int  # including the file type bits
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)  # major, minor of a device node


def members(*, init: bytes, busybox: bytes) -> list[Member]:
    """What the VM needs before the host's root is mounted."""
    directories = ("bin", "dev", "proc", "sys", "host", "tmp")
    return [
        *(Member(path=d, mode=stat.S_IFDIR | 0o755) for d in directories),
        Member(path="dev/console", mode=stat.S_IFCHR | 0o600, rdev=(5, 1)),
        Member(path="bin/busybox", mode=stat.S_IFREG | 0o755, data=busybox),
        Member(path="init", mode=stat.S_IFREG | 0o755, data=init),
    ]


def archive(entries: Iterable[Member]) -> bytes:
    """The newc ("070701") cpio archive of ``entries``, gzip-compressed, reproducible."""
    chunks: list[bytes] = []
    for inode, member in enumerate([*entries, Member(path=_TRAILER, mode=0)], start=1):
        chunks.append(_header(member, inode=inode))
        chunks.append(_padded(member.path.encode() + b"\0", offset=110))
        chunks.append(_padded(member.data))
    return gzip.compress(b"".join(chunks), mtime=0)


def write(path: pathlib.Path, *, init: bytes, busybox: pathlib.Path = BUSYBOX) -> pathlib.Path:
    path.write_bytes(archive(members(init=init, busybox=busybox.read_bytes())))
    return path


def _header(member: Member, *, inode: int) -> bytes:
    name_size = len(member.path.encode()) + 1
    is_dir = stat.S_ISDIR(member.mode)
    fields = (
        inode,
        member.mode,
        0,  # uid
        0,  # gid
        2 if is_dir else 1,  # nlink
        0,  # mtime
        len(member.data),
        0,  # dev major
        0,  # dev minor
        member.rdev[0],
        member.rdev[1],
        name_size,
        0,  # check
    )
    return b"070701" + b"".join(f"{value:08x}".encode() for value in fields)


def _padded(data: bytes, *, offset: int = 0) -> bytes:
    # newc aligns the name (after the 110-byte header) and the data to 4 bytes.
    return data + b"\0" * (-(offset + len(data)) % 4)
