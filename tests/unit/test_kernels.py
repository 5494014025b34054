"""The known-bad kernel table: releases, distribution version strings, and honesty."""

from __future__ import annotations

import os
import pathlib

import pytest

from nethealth.probe import kernels, types

Status = types.KernelStatus

DEBIAN_6_1_149 = (
    "Linux version 6.1.0-39-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian"
    " 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP"
    " PREEMPT_DYNAMIC Debian 6.1.149-1 (2025-08-28)"
)
DEBIAN_6_1_150 = DEBIAN_6_1_149.replace("6.1.149-1", "6.1.150-1")


@pytest.mark.parametrize(
    ("release", "status", "fixed_in"),
    [
        ("6.1.148", Status.NOT_AFFECTED, None),
        ("6.1.149", Status.AFFECTED, "6.1.150"),
        ("6.1.150", Status.FIXED, "6.1.150"),
        ("6.6.102", Status.NOT_AFFECTED, None),
        ("6.6.103", Status.AFFECTED, "6.6.104"),
        ("6.6.104", Status.FIXED, "6.6.104"),
        ("6.12.41", Status.NOT_AFFECTED, None),
        ("6.12.43-talos", Status.AFFECTED, "6.12.45"),
        ("6.12.44", Status.AFFECTED, "6.12.45"),
        ("6.12.45", Status.FIXED, "6.12.45"),
        ("6.16.3-arch1-1", Status.AFFECTED, "6.16.5"),
        ("6.16.5-200.fc42.x86_64", Status.FIXED, "6.16.5"),
        ("6.15.11", Status.AFFECTED, "6.16.5"),  # the series ended unfixed: next one's fix
        ("5.15.190", Status.AFFECTED, "5.15.191"),
        ("5.10.241-1-lts", Status.AFFECTED, "5.10.242"),
        ("5.4.297", Status.AFFECTED, "5.10.242"),
        ("5.4.296", Status.NOT_AFFECTED, None),
        ("6.17-rc1", Status.AFFECTED, "6.17-rc4"),
        ("6.17.0-rc3", Status.AFFECTED, "6.17-rc4"),
        ("6.17-rc4", Status.FIXED, "6.17-rc4"),
        ("6.17.1", Status.FIXED, "6.17-rc4"),
        ("6.18.44-fc-v657", Status.FIXED, "6.17-rc4"),
        ("6.16-rc7", Status.NOT_AFFECTED, None),
        ("6.14.11", Status.NOT_AFFECTED, None),  # ended before the backports
        ("4.19.325", Status.NOT_AFFECTED, None),
        ("6.12.38+deb13-amd64", Status.NOT_AFFECTED, None),
    ],
)
def test_upstream_releases_are_placed_in_their_series(release, status, fixed_in):
    assessment = kernels.assess(release)
    assert (assessment.status, assessment.fixed_in) == (status, fixed_in)
    assert assessment.issue == kernels.ISSUE


@pytest.mark.parametrize(
    "release",
    [
        "6.1.0-38-amd64",  # Debian ABI name: the patch level is not in uname -r
        "6.8.0-45-generic",  # Ubuntu, same
        "5.14.0-427.13.1.el9_4.x86_64",  # RHEL backports selectively
        "5.14.21-150500.55.49-default",  # SUSE
        "6.1.102-111.182.amzn2023.x86_64",  # Amazon Linux
        "not-a-kernel",
        "",
    ],
)
def test_releases_that_do_not_tell_are_unknown_with_a_reason(release):
    assessment = kernels.assess(release)
    assert assessment.status == Status.UNKNOWN
    assert assessment.version is None
    assert assessment.detail


def test_debian_package_version_comes_from_proc_version():
    bad = kernels.assess("6.1.0-39-amd64", proc_version=DEBIAN_6_1_149)
    good = kernels.assess("6.1.0-40-amd64", proc_version=DEBIAN_6_1_150)
    assert (bad.status, bad.version) == (Status.AFFECTED, "6.1.149")
    assert (good.status, good.version) == (Status.FIXED, "6.1.150")
    assert "/proc/version" in bad.detail


def test_compiler_package_in_proc_version_is_not_taken_for_the_kernel():
    only_compiler = "Linux version 6.1.0-39-amd64 (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP"
    # "Debian 12.2.0" names gcc; with the kernel's own entry missing, the last match is
    # still not a kernel series in the table, so nothing is claimed about it.
    assert kernels.assess("6.1.0-39-amd64", proc_version=only_compiler).status != Status.AFFECTED


def test_ubuntu_upstream_version_comes_from_the_version_signature():
    assessment = kernels.assess(
        "6.12.0-1001-generic", version_signature="Ubuntu 6.12.0-1001.1-generic 6.12.43"
    )
    assert (assessment.status, assessment.version) == (Status.AFFECTED, "6.12.43")


def test_every_row_is_consistent_and_sourced():
    for row in kernels.BAD_RANGES:
        first = kernels.parse(row.first_bad)
        assert first is not None, row
        assert row.source, row
        if row.fixed is not None:
            fixed = kernels.parse(row.fixed)
            assert fixed is not None, row
            assert first < fixed, row


def test_each_rows_edges_are_assessed_as_the_table_says():
    for row in kernels.BAD_RANGES:
        assert kernels.assess(row.first_bad).status == Status.AFFECTED, row
        if row.fixed is not None:
            assert kernels.assess(row.fixed).status == Status.FIXED, row
        major, minor, patch, rc = kernels.parse(row.first_bad) or (0, 0, 0, 0)
        before = f"{major}.{minor}-rc{rc - 1}" if rc else f"{major}.{minor}.{patch - 1}"
        if not rc or rc > 1:
            assert kernels.assess(before).status == Status.NOT_AFFECTED, row


def test_running_kernel_is_read_from_uname_and_proc(tmp_path: pathlib.Path):
    (tmp_path / "version").write_text(DEBIAN_6_1_149)
    assessment = kernels.assess_running(proc=tmp_path)
    assert assessment.release == os.uname().release
    assert (assessment.version, assessment.status) == ("6.1.149", Status.AFFECTED)


def test_running_kernel_without_proc_files_falls_back_to_uname(tmp_path: pathlib.Path):
    assessment = kernels.assess_running(proc=tmp_path)
    assert assessment == kernels.assess(os.uname().release)
