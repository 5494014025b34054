"""What the nethealth image is made of: its Debian mirror, dependencies and sources."""

from __future__ import annotations

import pathlib
import re

import pytest

from nethealth.devcluster import pythonlayer, rootfs

PROJECT = pathlib.Path(__file__).resolve().parents[2]

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
"""


def test_the_debian_mirror_is_the_binary_source_for_the_suite_in_deb822_files():
    assert rootfs.mirrors_in_deb822(DEB822, suite="bookworm") == ["http://deb.example.org/debian"]
    assert rootfs.mirrors_in_deb822(DEB822, suite="trixie") == []


def test_the_debian_mirror_is_found_in_classic_sources_lists():
    text = (
        "# deb http://commented.example.org/debian bookworm main\n"
        "deb-src http://src.example.org/debian bookworm main\n"
        "deb [signed-by=/k.gpg] http://deb.example.org/debian bookworm main\n"
        "deb http://deb.example.org/debian-security bookworm-security main\n"
    )
    assert rootfs.mirrors_in_one_line_format(text, suite="bookworm") == [
        "http://deb.example.org/debian"
    ]


def test_a_mirror_set_in_the_environment_wins(monkeypatch):
    monkeypatch.setenv("NETHEALTH_DEBIAN_MIRROR", "http://mirror.example.org/debian")
    assert rootfs.host_mirror(suite="bookworm") == "http://mirror.example.org/debian"


def test_image_dependencies_are_the_projects_runtime_requirements():
    requirements = pythonlayer.dependencies(PROJECT / "pyproject.toml")
    names = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}
    assert {"kopf", "kubernetes", "pyroute2"} <= names
    assert "pytest" not in names  # test extras stay out of the image


def test_a_pyproject_without_a_dependency_list_is_refused_naming_the_field(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = "kopf"\n')
    with pytest.raises(ValueError, match=r"\[project\]\.dependencies must be a list"):
        pythonlayer.dependencies(tmp_path / "pyproject.toml")


def test_the_wheel_sources_are_the_package_and_its_metadata_without_caches():
    sources = pythonlayer.project_sources(PROJECT)
    assert pathlib.Path("pyproject.toml") in sources
    assert pathlib.Path("operator/nethealth/cli.py") in sources
    assert not any("__pycache__" in s.parts for s in sources)
    assert pathlib.Path("operator/nethealth/py.typed") in sources


@pytest.mark.parametrize("pruned", pythonlayer.PRUNED)
def test_parts_left_out_of_the_image_are_never_imported_by_the_project(pruned):
    module = pruned.replace("/", ".")
    parent, _, leaf = module.rpartition(".")
    pattern = re.compile(
        rf"(import\s+{re.escape(module)}\b|from\s+{re.escape(module)}\b"
        rf"|from\s+{re.escape(parent)}\s+import\s+(\(\s*)?([\w\s,]*\b)?{re.escape(leaf)}\b)"
    )
    offenders = [
        str(path.relative_to(PROJECT))
        for path in (PROJECT / "operator/nethealth").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == [], f"{pruned} is left out of the image but imported by {offenders}"
