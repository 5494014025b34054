"""The real single-node cluster a cluster benchmark runs against, and how to stop cleanly.

With ``--kubeconfig`` (or ``NETHEALTH_KUBECONFIG``, as the e2e tests use it) the benchmark
uses that running cluster and leaves it running; without, it starts the project's own node
the way the e2e fixtures do (building ``kubenode`` and the images if they are not cached;
needs root) and tears it down at the end, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
from collections.abc import Iterator

# The e2e session's helpers: this starts the same node the same way.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import interrupts

REUSE_ENV = "NETHEALTH_KUBECONFIG"
BUSY_WAIT_SECONDS = 300.0
# SIGTERM as KeyboardInterrupt, so a killed benchmark still runs its ``finally``.
sigterm_unwinds = interrupts.sigterm_unwinds


def default_kubeconfig() -> str | None:
    return os.environ.get(REUSE_ENV) or None


@contextlib.contextmanager
def kubeconfig(given: str | None) -> Iterator[pathlib.Path]:
    """The kubeconfig of a running cluster: ``given``, or a node started for the block."""
    if given:
        path = pathlib.Path(given)
        if not path.is_file():
            raise SystemExit(f"--kubeconfig {given}: no such file")
        yield path
        return
    if os.geteuid() != 0:
        raise SystemExit("starting a cluster needs root; or pass --kubeconfig / $" + REUSE_ENV)
    from nethealth.devcluster import build, images, layout, node  # noqa: PLC0415 - heavy

    kubenode = build.ensure_kubenode().path
    archives = images.build_all()
    with node.running(
        run_dir=layout.default_run_dir(),
        kubenode=kubenode,
        images=archives,
        pause_image=images.PAUSE_IMAGE,
        wait=BUSY_WAIT_SECONDS,
    ) as started:
        yield started.kubeconfig
