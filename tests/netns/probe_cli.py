"""Run the real `nethealth probe` CLI against a simulated node and read its JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import topology

NETHEALTH = str(pathlib.Path(sys.executable).parent / "nethealth")


@dataclasses.dataclass(frozen=True)
class Result:
    code: int
    document: dict[str, Any]
    stderr: str
    termination_log: str | None

    @property
    def klass(self) -> str:
        return str(self.document["class"])

    def namespace(self, role: str) -> dict[str, Any]:
        return self.document["namespaces"][role]

    def hint_codes(self) -> list[str]:
        return [h["code"] for h in self.document["hints"]]

    def hint(self, code: str) -> dict[str, Any]:
        return next(h for h in self.document["hints"] if h["code"] == code)


def argv_for(
    node: topology.Topology,
    *,
    where: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    attempts: int = 30,
    spread: float = 3.0,
    timeout: float = 1.0,
    termination_log: pathlib.Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    argv = [NETHEALTH, "probe", *(where or ("--netns", node.pod_netns))]
    argv += ["--control-netns", node.fresh_netns, "--host-netns", node.node_netns]
    for target in targets or (f"server={topology.SERVER_IP}:{node.port}",):
        argv += ["--target", target]
    argv += ["--attempts", str(attempts), "--spread", str(spread), "--timeout", str(timeout)]
    argv += [*extra, "--output", "json"]
    if termination_log is not None:
        argv += ["--termination-log", str(termination_log)]
    return argv


def run(argv: Sequence[str], *, prefix: Sequence[str] = (), timeout: float = 60) -> Result:
    """Run the CLI; stdout must be exactly one JSON document."""
    log = _termination_log_path(argv)
    done = subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    document = json.loads(done.stdout)  # fails the test if stdout is anything else
    text = pathlib.Path(log).read_text() if log and os.path.exists(log) else None
    return Result(code=done.returncode, document=document, stderr=done.stderr, termination_log=text)


def probe(node: topology.Topology, tmp_path: pathlib.Path, **kwargs: Any) -> Result:
    return run(argv_for(node, termination_log=tmp_path / "termination-log", **kwargs))


def render_text(result: Result) -> str:
    """The text report the probe prints for people, from the document it wrote."""
    from nethealth.probe import report  # noqa: PLC0415 (only the tests that show text)

    return report.render_text(result.document)


def _termination_log_path(argv: Sequence[str]) -> str | None:
    argv = list(argv)
    if "--termination-log" in argv:
        return argv[argv.index("--termination-log") + 1]
    return None


def leftover_processes(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (a probe's forked children)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found
