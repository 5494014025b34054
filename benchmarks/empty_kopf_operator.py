"""An operator that watches what nethealth's touches and does nothing: the scale baseline.

``benchmarks/operator_scale.py`` runs it against the same objects as the real operator, so
the difference in memory, CPU and API requests is nethealth's own overhead over the price
of running kopf at all. It watches NetHealthChecks, Jobs and Pods in the namespaces given
(the real operator watches NetHealthChecks and lists Jobs and Pods), with the same kopf
settings that matter for cost (standalone, watch timeouts), and handles every event by
doing nothing.

    .venv/bin/python benchmarks/empty_kopf_operator.py --namespace NS [--namespace NS ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import kopf

from nethealth import model


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.peering.standalone = True
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330


@kopf.on.event(model.GROUP, model.VERSION, model.PLURAL)
async def check_seen(**_: Any) -> None:
    pass


@kopf.on.event("batch", "v1", "jobs")
async def job_seen(**_: Any) -> None:
    pass


@kopf.on.event("", "v1", "pods")
async def pod_seen(**_: Any) -> None:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", action="append", default=[], required=True)
    args = parser.parse_args(argv)
    kopf.configure(verbose=False)
    kopf.run(namespaces=args.namespace, standalone=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
