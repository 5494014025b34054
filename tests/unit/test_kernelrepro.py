"""The kernel reproduction's pure parts: config checks, cache keys, the initramfs."""

from __future__ import annotations

import gzip
import pathlib
import shutil
import subprocess

import pytest

from nethealth.kernelrepro import assets, initramfs, kernel, vm

CHECKED_IN = pathlib.Path(__file__).resolve().parents[2] / "kernelrepro"


@pytest.fixture
def asset_dir(tmp_path, monkeypatch) -> pathlib.Path:
    """A copy of the checked-in kernelrepro/ folder that a test may change."""
    copy = tmp_path / "kernelrepro"
    shutil.copytree(CHECKED_IN, copy)
    monkeypatch.setenv(assets.DIR_ENV, str(copy))
    return copy


def test_options_that_did_not_survive_olddefconfig_are_named_with_what_they_became():
    config = "CONFIG_NET=y\n# CONFIG_9P_FS is not set\nCONFIG_NR_CPUS=4\n"
    wanted = {"CONFIG_NET": "y", "CONFIG_9P_FS": "y", "CONFIG_NR_CPUS": "8", "CONFIG_VETH": "y"}
    assert kernel.unmet_options(config=config, wanted=wanted) == [
        "CONFIG_9P_FS=y (have n)",
        "CONFIG_NR_CPUS=8 (have 4)",
        "CONFIG_VETH=y (have n)",
    ]


def test_a_fragment_line_that_is_not_an_assignment_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match="line 2: expected CONFIG_NAME=value"):
        assets.wanted_options("# comment\nNET=y\n")


def test_the_checked_in_fragment_asks_for_what_the_reproduction_needs():
    wanted = assets.wanted_options((CHECKED_IN / assets.CONFIG_FRAGMENT).read_text())
    for option in ("CONFIG_SMP", "CONFIG_NET_NS", "CONFIG_VETH", "CONFIG_IP_MULTICAST",
                   "CONFIG_9P_FS", "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"):  # fmt: skip
        assert wanted[option] == "y"


def test_the_regression_key_changes_with_the_patch_and_the_control_key_does_not(asset_dir):
    def keys() -> tuple[str, str]:
        return (
            kernel.key_of(flavour=kernel.Flavour.REGRESSION, package_version="6.1.192-2"),
            kernel.key_of(flavour=kernel.Flavour.CONTROL, package_version="6.1.192-2"),
        )

    regression, control = keys()
    assert regression != control
    with (asset_dir / assets.PATCH).open("a") as patch:
        patch.write("\n")
    changed_regression, same_control = keys()
    assert changed_regression != regression
    assert same_control == control


def test_both_keys_change_with_the_config_fragment_and_the_source_version(asset_dir):
    before = {f: kernel.key_of(flavour=f, package_version="6.1.192-2") for f in kernel.Flavour}
    newer = {f: kernel.key_of(flavour=f, package_version="6.1.193-1") for f in kernel.Flavour}
    with (asset_dir / assets.CONFIG_FRAGMENT).open("a") as fragment:
        fragment.write("CONFIG_IPV6=y\n")
    after = {f: kernel.key_of(flavour=f, package_version="6.1.192-2") for f in kernel.Flavour}
    for flavour in kernel.Flavour:
        assert len({before[flavour], newer[flavour], after[flavour]}) == 3


def test_the_initramfs_unpacks_to_init_busybox_and_a_console_node(tmp_path):
    # busybox-static is installed by scripts/setup.sh (the VM's init needs it anyway).
    archive = initramfs.archive(
        initramfs.members(init=b"#!/bin/busybox sh\necho hi\n", busybox=b"\x7fELF...")
    )
    listing = subprocess.run(
        ["busybox", "cpio", "-t", "-v"],
        input=gzip.decompress(archive),
        capture_output=True,
        check=True,
    ).stdout.decode()
    lines = {line.split()[-1]: line.split()[0] for line in listing.splitlines()}
    assert lines["init"] == "-rwxr-xr-x"
    assert lines["bin/busybox"] == "-rwxr-xr-x"
    assert lines["dev/console"].startswith("c")
    assert lines["proc"].startswith("d")
    (tmp_path / "out").mkdir()
    subprocess.run(
        ["busybox", "cpio", "-i", "-d", "init"],
        input=gzip.decompress(archive),
        cwd=tmp_path / "out",
        capture_output=True,
        check=True,
    )
    assert (tmp_path / "out" / "init").read_bytes() == b"#!/bin/busybox sh\necho hi\n"


def test_the_initramfs_is_reproducible():
    members = initramfs.members(init=b"init", busybox=b"busybox")
    assert initramfs.archive(members) == initramfs.archive(members)


def test_a_shared_folder_is_mounted_at_its_own_path_inside_the_vm(tmp_path):
    argv = vm.qemu_argv(
        image=tmp_path / "bzImage",
        initrd=tmp_path / "initrd",
        results=tmp_path / "results",
        cpus=2,
        memory_mib=512,
        shares=[pathlib.Path("/tmp/ci/clone")],
    )
    assert (
        "local,id=share0,path=/tmp/ci/clone,security_model=none,readonly=on,multidevs=remap" in argv
    )
    assert "nethealth.share=share0:/tmp/ci/clone" in argv[argv.index("-append") + 1]


def test_a_share_path_that_the_kernel_command_line_cannot_carry_is_refused(tmp_path):
    with pytest.raises(vm.VmError, match="without spaces"):
        vm.qemu_argv(
            image=tmp_path / "k",
            initrd=tmp_path / "i",
            results=tmp_path / "r",
            cpus=2,
            memory_mib=512,
            shares=[pathlib.Path("/tmp/a b")],
        )
