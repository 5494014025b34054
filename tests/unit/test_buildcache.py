"""The image build cache: keyed by inputs, complete entries only."""

from __future__ import annotations

import os
import pathlib

import pytest

from nethealth.devcluster import buildcache


def test_a_cached_entry_is_built_once_and_then_reused(tmp_path):
    builds: list[pathlib.Path] = []

    def build(work: pathlib.Path) -> None:
        builds.append(work)
        (work / "out").write_text("built")

    first = buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=build)
    second = buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=build)
    assert first == second == tmp_path / "thing-k1"
    assert (first / "out").read_text() == "built"
    assert len(builds) == 1


def test_a_different_key_builds_a_separate_entry(tmp_path):
    def build(work: pathlib.Path) -> None:
        (work / "out").write_text(work.name)

    one = buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=build)
    two = buildcache.entry(cache_dir=tmp_path, name="thing", key="k2", build=build)
    assert one != two
    assert one.is_dir()
    assert two.is_dir()


def test_a_failed_build_leaves_nothing_behind_and_is_retried(tmp_path):
    def failing(work: pathlib.Path) -> None:
        (work / "half").write_text("half an image")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=failing)
    assert list(tmp_path.iterdir()) == []

    entry = buildcache.entry(
        cache_dir=tmp_path, name="thing", key="k1", build=lambda w: (w / "whole").write_text("ok")
    )
    assert sorted(p.name for p in entry.iterdir()) == ["whole"]


def test_an_entry_finished_by_a_racing_build_is_kept(tmp_path):
    def racing(work: pathlib.Path) -> None:
        # Another process completes the same entry while this one builds.
        (tmp_path / "thing-k1").mkdir()
        (tmp_path / "thing-k1" / "theirs").write_text("theirs")
        (work / "mine").write_text("mine")

    entry = buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=racing)
    assert sorted(p.name for p in entry.iterdir()) == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["thing-k1"]


def test_keys_depend_on_every_part_and_its_boundaries():
    assert buildcache.key_of("a", "bc") != buildcache.key_of("ab", "c")
    assert buildcache.key_of("a", b"b") == buildcache.key_of("a", "b")
    assert buildcache.key_of("a") != buildcache.key_of("b")
    assert buildcache.key_of("x") == buildcache.key_of("x")


def test_only_the_most_recently_used_entries_of_a_name_are_kept(tmp_path):
    builds: list[str] = []

    def build(work: pathlib.Path) -> None:
        builds.append(work.name)

    for age, key in enumerate(("k1", "k2", "k3"), start=1):
        buildcache.entry(cache_dir=tmp_path, name="thing", key=key, build=build, keep=3)
        os.utime(tmp_path / f"thing-{key}", (age, age))
    # Using k1 again makes k2 the least recently used.
    buildcache.entry(cache_dir=tmp_path, name="thing", key="k1", build=build, keep=3)
    buildcache.entry(cache_dir=tmp_path, name="thing", key="k4", build=build, keep=3)
    buildcache.entry(cache_dir=tmp_path, name="other", key="k0", build=build, keep=3)
    assert len(builds) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other-k0",
        "thing-k1",
        "thing-k3",
        "thing-k4",
    ]


def test_a_key_with_a_dash_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must not contain"):
        buildcache.entry(cache_dir=tmp_path, name="thing", key="a-b", build=lambda w: None)
