"""The ``argocd`` binary the Argo CD tests run, built from the Go module proxy and cached.

``cluster/argocd`` is a small main package that hosts only the parts of Argo CD
the tests need: the application controller, the repo server and the Git
ask-pass helper the repo server calls itself as. It dispatches on the name it
is called by, like Argo CD's own ``cmd/main.go``, so the harness links the one
binary under each name. Its ``go.mod`` repeats Argo CD's own ``replace`` lines
(they apply only in the main module), as ``cluster/kubenode`` does for
Kubernetes.

Cached like every ``gobinary``. Static
(``CGO_ENABLED=0``, as Argo CD's own release builds), stripped, ``-trimpath``,
and stamped with the Argo CD version its logs and ``--version`` report.
"""

from __future__ import annotations

import dataclasses
import pathlib

from nethealth.devcluster import gobinary

SOURCE_ENV = "NETHEALTH_ARGOCD_SRC"
MODULE = "github.com/argoproj/argo-cd/v2"
# Unstamped, Argo CD calls itself 99.99.99.
VERSION_VARIABLE = f"{MODULE}/common.version"
BINARY_NAME = "argocd"
# The names the binary answers to (main.go's dispatch).
APPLICATION_CONTROLLER = "argocd-application-controller"
REPO_SERVER = "argocd-repo-server"
GIT_ASK_PASS = "argocd-git-ask-pass"
COMMANDS = (APPLICATION_CONTROLLER, REPO_SERVER, GIT_ASK_PASS)

RECIPE = gobinary.Recipe(
    name=BINARY_NAME,
    folder="argocd",
    source_env=SOURCE_ENV,
    source_files=("go.mod", "go.sum", "main.go"),
    requires=MODULE,
    flags=lambda version: [
        "-trimpath",
        f"-ldflags=-s -w -X {VERSION_VARIABLE}={version.lstrip('v')}",
    ],
    static=True,
    links=COMMANDS,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Built(gobinary.Built):
    """An argocd binary, whether this call had to build it, and its commands."""

    def command(self, name: str) -> pathlib.Path:
        """The link that runs ``name`` (one of ``COMMANDS``), beside the binary."""
        if name not in COMMANDS:
            raise ValueError(f"argocd has no command {name!r}; it has {', '.join(COMMANDS)}")
        return self.path.parent / name


def find_source() -> pathlib.Path:
    """The ``cluster/argocd`` module: ``$NETHEALTH_ARGOCD_SRC`` or the checkout's own."""
    return gobinary.find_source(RECIPE)


def argocd_version(source: pathlib.Path) -> str:
    """The Argo CD version ``go.mod`` requires, e.g. ``v2.14.21``."""
    return gobinary.required_version(RECIPE, source)


def ensure_argocd(*, cache: pathlib.Path | None = None) -> Built:
    """The cached argocd binary (and its command links), building it if missing."""
    built = gobinary.ensure(RECIPE, cache=cache)
    return Built(path=built.path, version=built.version, fresh=built.fresh, seconds=built.seconds)
