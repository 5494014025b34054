"""Which helm the chart tests build: the version pinned in cluster/helm/go.mod."""

from __future__ import annotations

import pathlib

import pytest

from nethealth.devcluster import build, helmtool

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_pinned_helm_is_a_v3_release() -> None:
    version = helmtool.helm_version(ROOT / "cluster" / "helm")
    assert version.startswith("v3.")
    assert "-" not in version, "a pre-release or pseudo-version is not a pin"


def test_the_module_builds_helm_as_a_tool_of_its_own() -> None:
    go_mod = (ROOT / "cluster" / "helm" / "go.mod").read_text()
    assert f"tool {helmtool.PACKAGE}" in go_mod


def test_a_module_without_helm_is_refused_naming_its_go_mod(tmp_path: pathlib.Path) -> None:
    (tmp_path / "go.mod").write_text("module example.test/empty\n\ngo 1.26.0\n")
    with pytest.raises(build.BuildError, match=r"go\.mod does not require helm\.sh/helm/v3"):
        helmtool.helm_version(tmp_path)


def test_source_comes_from_the_environment_when_set(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(helmtool.SOURCE_ENV, str(tmp_path))
    with pytest.raises(build.BuildError, match=helmtool.SOURCE_ENV):
        helmtool.find_source()
    (tmp_path / "go.mod").write_text("module example.test/helm\n")
    assert helmtool.find_source() == tmp_path
