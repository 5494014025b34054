"""A Go binary from a module: built once, found again by its inputs, a failed build
readable (the real Go toolchain on a module of a few lines; a local ``replace``, so no
network)."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from nethealth.devcluster import build, gobinary

GO_MOD = """module example.test/hello

go 1.22

require example.test/greeting v0.0.0

replace example.test/greeting => ./greeting
"""
GREETING = 'package greeting\n\nconst Text = "hello"\n'
MAIN = """package main

import (
\t"fmt"

\t"example.test/greeting"
)

func main() { fmt.Println(greeting.Text) }
"""


@pytest.fixture
def recipe(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> gobinary.Recipe:
    module = tmp_path / "src"
    (module / "greeting").mkdir(parents=True)
    (module / "greeting" / "go.mod").write_text("module example.test/greeting\n\ngo 1.22\n")
    (module / "greeting" / "greeting.go").write_text(GREETING)
    (module / "go.mod").write_text(GO_MOD)
    (module / "main.go").write_text(MAIN)
    monkeypatch.setenv("NETHEALTH_HELLO_SRC", str(module))
    return gobinary.Recipe(
        name="hello",
        folder="hello",
        source_env="NETHEALTH_HELLO_SRC",
        source_files=("go.mod", "main.go"),
        requires="example.test/greeting",
        flags=lambda version: ["-trimpath", f"-ldflags=-X main.version={version}"],
        static=True,
        links=("hi",),
    )


def _run(binary: pathlib.Path) -> str:
    return subprocess.run([binary], capture_output=True, text=True, check=True).stdout


def test_a_binary_is_built_once_and_answers_to_its_links(
    recipe: gobinary.Recipe, tmp_path: pathlib.Path
) -> None:
    cache = tmp_path / "cache"
    assert gobinary.cached(recipe, cache=cache) is None
    first = gobinary.ensure(recipe, cache=cache)
    assert first.fresh
    assert first.version == "v0.0.0"
    assert _run(first.path) == "hello\n"
    assert _run(first.path.parent / "hi") == "hello\n"
    again = gobinary.ensure(recipe, cache=cache)
    assert (again.path, again.fresh) == (first.path, False)
    assert gobinary.cached(recipe, cache=cache) == first.path


def test_a_changed_module_is_a_new_binary(recipe: gobinary.Recipe, tmp_path: pathlib.Path) -> None:
    cache = tmp_path / "cache"
    first = gobinary.ensure(recipe, cache=cache)
    main = tmp_path / "src" / "main.go"
    main.write_text(MAIN.replace("greeting.Text)", 'greeting.Text + "!")'))
    assert gobinary.cached(recipe, cache=cache) is None
    second = gobinary.ensure(recipe, cache=cache)
    assert second.path != first.path
    assert _run(second.path) == "hello!\n"


def test_a_failed_build_names_the_binary_and_shows_the_compiler(
    recipe: gobinary.Recipe, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "src" / "main.go").write_text(MAIN.replace("greeting.Text", "greeting.Txt"))
    with pytest.raises(build.BuildError, match=r"(?s)building hello v0\.0\.0 failed.*Txt"):
        gobinary.ensure(recipe, cache=tmp_path / "cache")
    assert gobinary.cached(recipe, cache=tmp_path / "cache") is None


def test_a_module_without_the_requirement_is_refused_naming_its_go_mod(
    recipe: gobinary.Recipe, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "src" / "go.mod").write_text("module example.test/hello\n\ngo 1.22\n")
    with pytest.raises(build.BuildError, match=r"go\.mod does not require example\.test/greeting"):
        gobinary.ensure(recipe, cache=tmp_path / "cache")
