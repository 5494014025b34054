"""The ``helm`` binary the chart's tests use, built from the Go module proxy and cached.

There is no package manager download of helm here: ``cluster/helm/go.mod`` pins
``helm.sh/helm/v3`` (as a ``tool`` dependency, with every module's checksum in
``go.sum``), and ``go build`` turns it into a binary, cached like every ``gobinary``.
"""

from __future__ import annotations

import pathlib

from nethealth.devcluster import gobinary

SOURCE_ENV = "NETHEALTH_HELM_SRC"
PACKAGE = "helm.sh/helm/v3/cmd/helm"
# Unstamped, `helm version` says v3.x-dev; the chart tests read it in their failures.
VERSION_VARIABLE = "helm.sh/helm/v3/internal/version.version"

RECIPE = gobinary.Recipe(
    name="helm",
    folder="helm",
    source_env=SOURCE_ENV,
    source_files=("go.mod", "go.sum"),
    requires="helm.sh/helm/v3",
    flags=lambda version: ["-trimpath", f"-ldflags=-s -w -X {VERSION_VARIABLE}={version}"],
    package=PACKAGE,
)

Built = gobinary.Built


def find_source() -> pathlib.Path:
    """The ``cluster/helm`` module: ``$NETHEALTH_HELM_SRC`` or the checkout's own."""
    return gobinary.find_source(RECIPE)


def helm_version(source: pathlib.Path) -> str:
    """The ``helm.sh/helm/v3`` version that ``go.mod`` pins, e.g. ``v3.22.0``."""
    return gobinary.required_version(RECIPE, source)


def ensure_helm(*, cache: pathlib.Path | None = None) -> Built:
    """The cached helm binary for the pinned version, building it if missing."""
    return gobinary.ensure(RECIPE, cache=cache)


def cached_helm(*, cache: pathlib.Path | None = None) -> pathlib.Path | None:
    """The cached binary for the pinned version, or None when it still needs a build."""
    return gobinary.cached(RECIPE, cache=cache)
