"""The ``coredns`` binary of the cluster's DNS, built from the Go module proxy and cached.

``cluster/coredns`` is a small main package that imports only the plugins the
cluster's Corefile uses (``addons.COREFILE``) from ``github.com/coredns/coredns``,
so a cold build compiles a fraction of CoreDNS's dependencies. Static
(``CGO_ENABLED=0``): the image holds the binary and nothing else.
"""

from __future__ import annotations

import pathlib

from nethealth.devcluster import gobinary

SOURCE_ENV = "NETHEALTH_COREDNS_SRC"

RECIPE = gobinary.Recipe(
    name="coredns",
    folder="coredns",
    source_env=SOURCE_ENV,
    source_files=("go.mod", "go.sum", "main.go"),
    requires="github.com/coredns/coredns",
    flags=lambda _version: ["-trimpath", "-ldflags=-s -w"],
    static=True,
)

Built = gobinary.Built


def find_source() -> pathlib.Path:
    return gobinary.find_source(RECIPE)


def coredns_version(source: pathlib.Path) -> str:
    """The ``github.com/coredns/coredns`` version ``go.mod`` pins, e.g. ``v1.15.0``."""
    return gobinary.required_version(RECIPE, source)


def ensure_coredns(*, cache: pathlib.Path | None = None) -> Built:
    """The cached coredns binary for the current sources, building it if missing."""
    return gobinary.ensure(RECIPE, cache=cache)
