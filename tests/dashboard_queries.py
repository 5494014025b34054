"""The queries of the chart's Grafana dashboard as Prometheus receives them once Grafana has
filled in its variables: one reading for the unit test (promtool on written series) and
the e2e (a real Prometheus scraping the operator)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "charts" / "nethealth-operator" / "files" / "dashboard.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Query:
    panel: str
    ref: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.panel} [{self.ref}]"


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def queries(*, rate_interval: str) -> list[Query]:
    """Every target of every panel, ``$check`` as "All" (its ``allValue``) and
    ``$__rate_interval`` as given; any other variable is an error here, not in Grafana."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", rate_interval)
            expr = expr.replace("$check", ".*")
            unknown = re.findall(r"\$\w+", expr)
            assert not unknown, f"{panel['title']}: unknown variables {unknown}"
            found.append(Query(panel=panel["title"], ref=target["refId"], expr=expr))
    return found
