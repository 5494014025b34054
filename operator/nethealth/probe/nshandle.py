"""Hold the target's network namespace open for the whole run, by file descriptor.

The pod's namespace is found through one of its processes (``/proc/<pid>/ns/net``), and
that process may exit mid-run: a crash-looping application, often the very one whose
network is broken. The namespace itself lives on (the pod's sandbox holds it), but the
path does not, and every later step that opened the path (another window, the evidence
after it) would fail. So the namespace is opened once, as soon as it is found, and every
child enters it through the probe's own descriptor (``/proc/self/fd/<n>``: children are
forked and inherit it); nothing depends on the process after that.

Holding a namespace also keeps it alive, which must not hide a pod that went away: a
deleted pod's namespace stays, but without its interfaces, and would look broken. So at
the end the run asks whether anything besides the probe still uses the namespace (the
path still names it, or some process is in it: the sandbox, another container) and is
Inconclusive when nothing does.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Final

from nethealth.probe import netns

_NS_LINK: Final = "net:[{inode}]"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Held:
    """An open network namespace: the path it was found at, and the descriptor."""

    path: str
    fd: int
    device: int
    inode: int

    @property
    def entry(self) -> str:
        """Where a forked child enters it: its inherited copy of the descriptor."""
        return f"/proc/self/fd/{self.fd}"


def hold(path: str) -> Held:
    """Open the namespace at ``path``; raise `netns.NetnsError` saying why it cannot be."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise netns.NetnsError(f"no such network namespace: {path}") from None
    except PermissionError:
        raise netns.NetnsError(
            f"permission denied opening network namespace {path}"
            " (needs CAP_SYS_PTRACE for another user's process)"
        ) from None
    except OSError as e:
        raise netns.NetnsError(f"cannot open network namespace {path}: {e.strerror}") from None
    status = os.fstat(fd)
    return Held(path=path, fd=fd, device=status.st_dev, inode=status.st_ino)


def release(held: Held) -> None:
    os.close(held.fd)


def path_names_it(held: Held) -> bool:
    """The path it was found at still leads to it (its process lives, its mount stays)."""
    try:
        status = os.stat(held.path)
    except OSError:
        return False
    return (status.st_dev, status.st_ino) == (held.device, held.inode)


def in_use(held: Held, *, proc: str = "/proc") -> bool:
    """Something besides this probe keeps the namespace: see the module docstring."""
    if path_names_it(held):
        return True
    wanted = _NS_LINK.format(inode=held.inode)
    own = str(os.getpid())
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit() and name != own]
    except OSError:
        return True  # cannot tell: do not call a pod gone on a guess
    for pid in pids:
        try:
            if os.readlink(f"{proc}/{pid}/ns/net") == wanted:
                return True
        except OSError:  # exited meanwhile, or not ours to read
            continue
    return False
