"""Which Argo CD the e2e tier builds, and that the build module keeps Argo CD's own pins."""

from __future__ import annotations

import pathlib
import re

import pytest

from nethealth.devcluster import argocdbuild, build

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULE = ROOT / "cluster" / "argocd"


def _replaces(go_mod: str) -> dict[str, str]:
    block = re.search(r"^replace \((.*?)^\)", go_mod, re.M | re.S)
    assert block is not None, "no replace block"
    pairs = re.findall(r"^\s*(\S+)\s+=>\s+(\S+\s+\S+)\s*$", block.group(1), re.M)
    return dict(pairs)


def test_the_pinned_argo_cd_is_a_v2_release() -> None:
    version = argocdbuild.argocd_version(MODULE)
    assert version.startswith("v2.")
    assert "-" not in version, "a pre-release or pseudo-version is not a pin"


def test_the_k8s_io_modules_are_pinned_as_argo_cd_pins_them() -> None:
    """Replace lines apply only in the main module: without Argo CD's, k8s.io/* would
    resolve to whatever its dependencies ask for, not what Argo CD was built against."""
    replaces = _replaces((MODULE / "go.mod").read_text())
    for name in ("k8s.io/api", "k8s.io/client-go", "k8s.io/kubectl", "k8s.io/apimachinery"):
        assert name in replaces, name
    assert replaces["k8s.io/client-go"] == "k8s.io/client-go v0.31.0"


def test_the_binary_answers_to_the_names_the_harness_links() -> None:
    main = (MODULE / "main.go").read_text()
    for name in argocdbuild.COMMANDS:
        assert f'case "{name}":' in main


def test_a_command_link_outside_the_binary_is_refused(tmp_path: pathlib.Path) -> None:
    built = argocdbuild.Built(path=tmp_path / "argocd", version="v2.14.21", fresh=False, seconds=0)
    assert built.command(argocdbuild.REPO_SERVER) == tmp_path / "argocd-repo-server"
    with pytest.raises(ValueError, match="argocd-server"):
        built.command("argocd-server")


def test_a_module_without_argo_cd_is_refused_naming_its_go_mod(tmp_path: pathlib.Path) -> None:
    (tmp_path / "go.mod").write_text("module example.test/empty\n\ngo 1.26.0\n")
    with pytest.raises(build.BuildError, match=r"go\.mod does not require github\.com/argoproj"):
        argocdbuild.argocd_version(tmp_path)
