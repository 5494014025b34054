"""The cgroup each node's kubelet puts its pods under, made before the kubelet starts.

A kubelet with ``cgroupRoot: /nethealth-devcluster/NODE`` refuses to start
("cgroup has some missing paths") unless that cgroup exists in every hierarchy,
and on cgroup v1 a new cpuset cgroup takes no task until its ``cpuset.cpus``
and ``cpuset.mems`` are set: they are copied from the parent, level by level.
Removal is the teardown's (``teardown.remove_kubepods_cgroups``).
"""

from __future__ import annotations

import contextlib
import pathlib

from nethealth.devcluster import teardown

CPUSET_FILES = ("cpuset.cpus", "cpuset.mems")


def prepare(cgroup_root: str) -> list[pathlib.Path]:
    """Make ``cgroup_root`` (``/a/b``) in every hierarchy; returns the directories made."""
    made = []
    parts = [part for part in cgroup_root.split("/") if part]
    for hierarchy in teardown.cgroup_hierarchies():
        parent = hierarchy
        for part in parts:
            directory = parent / part
            if not directory.is_dir():
                directory.mkdir()
                made.append(directory)
            _inherit_cpuset(parent=parent, child=directory)
            parent = directory
    return made


def _inherit_cpuset(*, parent: pathlib.Path, child: pathlib.Path) -> None:
    for name in CPUSET_FILES:
        source, target = parent / name, child / name
        if not target.exists():
            continue
        with contextlib.suppress(OSError):
            if not target.read_text().strip():
                target.write_text(source.read_text().strip())
