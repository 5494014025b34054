"""A namespace held open is in use while its path names it or any other process is in it."""

from __future__ import annotations

import os
import pathlib

from nethealth.probe import nshandle

INODE = 4026532999


def _proc(tmp_path: pathlib.Path, links: dict[int, str]) -> str:
    for pid, target in links.items():
        (tmp_path / str(pid) / "ns").mkdir(parents=True)
        os.symlink(target, tmp_path / str(pid) / "ns" / "net")
    return str(tmp_path)


def _held(path: str = "/proc/999999999/ns/net") -> nshandle.Held:
    return nshandle.Held(path=path, fd=-1, device=4, inode=INODE)


def test_a_namespace_a_process_is_still_in_is_in_use(tmp_path: pathlib.Path) -> None:
    proc = _proc(tmp_path, {10: "net:[4026531840]", 11: f"net:[{INODE}]"})
    assert nshandle.in_use(_held(), proc=proc)


def test_a_namespace_nothing_else_is_in_is_not(tmp_path: pathlib.Path) -> None:
    proc = _proc(tmp_path, {10: "net:[4026531840]", os.getpid(): f"net:[{INODE}]"})
    assert not nshandle.in_use(_held(), proc=proc)


def test_a_path_that_still_names_the_namespace_keeps_it_in_use(tmp_path: pathlib.Path) -> None:
    pinned = tmp_path / "pinned"
    pinned.write_text("")
    status = pinned.stat()
    held = nshandle.Held(path=str(pinned), fd=-1, device=status.st_dev, inode=status.st_ino)
    assert nshandle.path_names_it(held)
    assert nshandle.in_use(held, proc=_proc(tmp_path / "proc", {}))
    pinned.unlink()
    assert not nshandle.path_names_it(held)
