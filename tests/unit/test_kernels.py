"""The known-bad kernel table: releases, distribution version strings, and honesty."""

from __future__ import annotations

import os
import pathlib

import pytest
from probe_builders import VM_PROC_VERSION

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


# /proc/version as real kernels print it. A kernel built by hand on Debian names only
# the compiler's package ("Debian 12.2.0-14"), which is no kernel version at all.
SELF_BUILT_6_1_192 = VM_PROC_VERSION  # the regression VM's, as the probe read it there
SELF_BUILT_6_1_149 = SELF_BUILT_6_1_192.replace("6.1.192", "6.1.149")
DEBIAN_BACKPORT_6_12_43 = (
    "Linux version 6.12.43+deb12-amd64 (debian-kernel@lists.debian.org) (x86_64-linux-gnu-gcc-12"
    " (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP"
    " PREEMPT_DYNAMIC Debian 6.12.43-1~bpo12+1 (2025-09-06)"
)
DEBIAN_EXPERIMENTAL_6_17_RC3 = (
    "Linux version 6.17-rc3-amd64 (debian-kernel@lists.debian.org) (x86_64-linux-gnu-gcc-14"
    " (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP"
    " PREEMPT_DYNAMIC Debian 6.17~rc3-1~exp1 (2025-08-25)"
)
UBUNTU_6_8_0_45 = (
    "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) (x86_64-linux-gnu-gcc-13 (Ubuntu"
    " 13.2.0-23ubuntu4) 13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #45-Ubuntu SMP"
    " PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024"
)


@pytest.mark.parametrize(
    ("release", "proc_version", "version", "status"),
    [
        ("6.1.0-39-amd64", DEBIAN_6_1_149, "6.1.149", Status.AFFECTED),
        ("6.1.0-40-amd64", DEBIAN_6_1_150, "6.1.150", Status.FIXED),
        ("6.12.43+deb12-amd64", DEBIAN_BACKPORT_6_12_43, "6.12.43", Status.AFFECTED),
        ("6.17-rc3-amd64", DEBIAN_EXPERIMENTAL_6_17_RC3, "6.17-rc3", Status.AFFECTED),
        # Self-built: gcc's "Debian 12.2.0-14" is not the kernel; uname -r decides.
        ("6.1.192-nethealth-regression", SELF_BUILT_6_1_192, "6.1.192", Status.FIXED),
        ("6.1.149-nethealth-regression", SELF_BUILT_6_1_149, "6.1.149", Status.AFFECTED),
        # Ubuntu's /proc/version has no package version: the ABI name tells nothing.
        ("6.8.0-45-generic", UBUNTU_6_8_0_45, None, Status.UNKNOWN),
        ("6.1.0-39-amd64", SELF_BUILT_6_1_192.replace("6.1.192-nethealth-regression",
                                                      "6.1.0-39-amd64"), None, Status.UNKNOWN),
    ],
    ids=["debian-bad", "debian-fixed", "debian-backport", "debian-experimental-rc",
         "self-built-fixed", "self-built-bad", "ubuntu-abi-name", "debian-abi-without-banner"],
)  # fmt: skip
def test_proc_version_gives_the_kernels_own_package_version_never_the_compilers(
    release, proc_version, version, status
):
    assessment = kernels.assess(release, proc_version=proc_version)
    assert (assessment.version, assessment.status) == (version, status)
    assert "12.2.0" not in (assessment.version or "")


def test_a_debian_version_of_another_series_than_uname_is_ignored():
    # A /proc/version that does not belong to the running kernel (a copied file, a
    # mismatched container mount) must not decide: uname -r does, and the detail says why.
    assessment = kernels.assess("6.12.45", proc_version=DEBIAN_6_1_149)
    assert (assessment.version, assessment.status) == ("6.12.45", Status.FIXED)
    assert "/proc/version names Debian 6.1.149, not the series of 6.12.45" in assessment.detail


def test_a_version_signature_of_another_series_than_uname_is_ignored():
    assessment = kernels.assess(
        "6.8.0-45-generic", version_signature="Ubuntu 6.12.0-1001.1-generic 6.12.43"
    )
    assert assessment.status == Status.UNKNOWN
    assert "not the series of 6.8.0-45-generic" in assessment.detail


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
    # A Debian banner of the running kernel's own series, at a patch level no release has.
    major, minor, *_ = kernels.parse(os.uname().release) or (0, 0)
    banner = f"Linux version x (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP Debian {major}.{minor}.999-1"
    (tmp_path / "version").write_text(f"{banner} (2025-08-28)\n")
    assessment = kernels.assess_running(proc=tmp_path)
    assert assessment.release == os.uname().release
    assert assessment.version == f"{major}.{minor}.999"
    assert "/proc/version" in assessment.detail


def test_running_kernel_without_proc_files_falls_back_to_uname(tmp_path: pathlib.Path):
    assessment = kernels.assess_running(proc=tmp_path)
    assert assessment == kernels.assess(os.uname().release)
