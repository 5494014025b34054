"""kubenode is rebuilt exactly when something that decides its bytes changes."""

from __future__ import annotations

import pathlib

import pytest

from nethealth.devcluster import build


@pytest.fixture
def source(tmp_path, monkeypatch) -> pathlib.Path:
    module = tmp_path / "kubenode"
    module.mkdir()
    for name in build.SOURCE_FILES:
        (module / name).write_text(f"{name} contents\n")
    (module / "go.mod").write_text("module x\n\nrequire k8s.io/kubernetes v1.36.3\n")
    monkeypatch.setenv(build.SOURCE_ENV, str(module))
    return module


def test_the_key_changes_with_each_module_file_and_with_the_toolchain(source):
    base = build.cache_key(source=source, toolchain="go version go1.26.8 linux/amd64")
    assert base == build.cache_key(source=source, toolchain="go version go1.26.8 linux/amd64")
    assert base != build.cache_key(source=source, toolchain="go version go1.27.0 linux/amd64")
    for name in build.SOURCE_FILES:
        original = (source / name).read_text()
        (source / name).write_text(original + "// changed\n")
        assert build.cache_key(source=source, toolchain="go version go1.26.8 linux/amd64") != base
        (source / name).write_text(original)


def test_a_cached_binary_is_used_without_building(source, tmp_path):
    cache = tmp_path / "cache"
    key = build.cache_key(source=source, toolchain=build.go_version())
    cached = build.binary_path(cache=cache, key=key)
    cached.parent.mkdir(parents=True)
    cached.write_text("a binary")

    found = build.ensure_kubenode(cache=cache)

    assert found.path == cached
    assert not found.fresh
    assert build.cached_kubenode(cache=cache) == cached


def test_a_failed_build_names_its_log_and_leaves_no_binary(source, tmp_path):
    # The fake module is no Go program: `go build` fails as a broken source would.
    cache = tmp_path / "cache"
    with pytest.raises(build.BuildError, match=r"building kubenode failed .*build\.log"):
        build.ensure_kubenode(cache=cache)
    assert build.cached_kubenode(cache=cache) is None


def test_the_binary_is_stamped_with_the_kubernetes_release_it_is_built_from(tmp_path):
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v1.36.3\n")
    version = build.kubernetes_version(tmp_path)
    assert version == "v1.36.3"
    flags = build.ldflags(version)
    assert "-X k8s.io/component-base/version.gitVersion=v1.36.3" in flags
    assert "-X k8s.io/component-base/version.gitMinor=36" in flags
