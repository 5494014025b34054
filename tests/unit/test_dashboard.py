"""The chart's Grafana dashboard: a well-formed dashboard whose every panel query parses and
returns series, evaluated by the real ``promtool test rules`` on series written like the
operator's (the e2e runs the same queries against a real Prometheus scraping it).

``promtool`` missing: skipped outside CI, a failure in CI (see test_alert_rules.py)."""

from __future__ import annotations

import itertools
import pathlib
import subprocess
from typing import Any

import pytest
import yaml

import dashboard_queries
from nethealth import model
from nethealth.detection import results
from nethealth.probe import types

TARGET = 'job="nethealth-operator",instance="198.51.100.10:8080"'
CHECK = 'check="apps/web"'
POD = 'pod="apps/web-6d9f7-x2x4q"'


def _written_series() -> list[dict[str, str]]:
    """Fifteen minutes of one check with a degraded pod, scraped every minute: every family
    the dashboard reads, with the labels the operator gives it."""
    series = {
        f"up{{{TARGET}}}": "1x15",
        f"process_resident_memory_bytes{{{TARGET}}}": "90000000x15",
        f"process_cpu_seconds_total{{{TARGET}}}": "0+0.5x15",
        f"nethealth_degraded_pods{{{TARGET},{CHECK}}}": "1x15",
        f'nethealth_check_info{{{TARGET},{CHECK},mode="Auto"}}': "1x15",
        f"nethealth_check_last_run_timestamp_seconds{{{TARGET},{CHECK}}}": "0+60x15",
        f"nethealth_check_interval_seconds{{{TARGET},{CHECK}}}": "60x15",
        f"nethealth_check_deadline_seconds{{{TARGET},{CHECK}}}": "40x15",
        f"nethealth_pod_failure_ratio{{{TARGET},{CHECK},{POD}}}": "0.5x15",
        (
            f'nethealth_pod_info{{{TARGET},{CHECK},{POD},state="Degraded",'
            'class="PodNamespace",hint="PolicyRuleUnreachable"}'
        ): "1x15",
        f'nethealth_remediation_workloads{{{TARGET},{CHECK},state="Verifying",reason=""}}': "1x15",
        (
            f"nethealth_remediation_actions_total{{{TARGET},{CHECK},"
            f'action="{model.EventReason.HOST_NETWORK_APPLIED}"}}'
        ): "0+1x15",
        (
            f"nethealth_probe_inconclusive_total{{{TARGET},{CHECK},"
            f'reason="{results.Why.NOT_FINISHED}"}}'
        ): "0+1x15",
    }
    for state in model.PodState:
        series[f'nethealth_pods{{{TARGET},{CHECK},state="{state}"}}'] = (
            "1x15" if state is model.PodState.DEGRADED else "0x15"
        )
    for klass in types.ProbeClass:
        series[f'nethealth_probe_runs_total{{{TARGET},{CHECK},class="{klass}"}}'] = "0+1x15"
    for le, per_minute in (("5.0", 0), ("10.0", 1), ("20.0", 2), ("+Inf", 2)):
        name = f'nethealth_probe_run_duration_seconds_bucket{{{TARGET},le="{le}"}}'
        series[name] = f"0+{per_minute}x15"
    return [{"series": name, "values": values} for name, values in series.items()]


def _returns_series(*, expr: str) -> dict[str, Any]:
    """A promtool expectation: ``expr`` parses and gives at least one series at 10m."""
    return {
        "expr": f"count({expr}) > bool 0",
        "eval_time": "10m",
        "exp_samples": [{"labels": "{}", "value": 1}],
    }


def _promtool_case(tmp_path: pathlib.Path, *, exprs: list[str]) -> pathlib.Path:
    document = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _written_series(),
                "promql_expr_test": [_returns_series(expr=expr) for expr in exprs],
            }
        ],
    }
    case = tmp_path / "dashboard_test.yaml"
    case.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return case


def _promtool_test(promtool: str, case: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "test", "rules", str(case)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


QUERIES = dashboard_queries.queries(rate_interval="5m")


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_every_panel_query_parses_and_returns_series_on_the_operators_series(
    promtool: str, tmp_path: pathlib.Path, query: dashboard_queries.Query
) -> None:
    result = _promtool_test(promtool, _promtool_case(tmp_path, exprs=[query.expr]))
    assert result.returncode == 0, f"{query.expr}\n{result.stdout}{result.stderr}"


def test_a_query_that_finds_nothing_fails_so_the_check_proves_something(
    promtool: str, tmp_path: pathlib.Path
) -> None:
    case = _promtool_case(tmp_path, exprs=["nethealth_pods{state='NoSuchState'}"])
    assert _promtool_test(promtool, case).returncode != 0


def test_a_query_that_does_not_parse_fails(promtool: str, tmp_path: pathlib.Path) -> None:
    case = _promtool_case(tmp_path, exprs=["sum by (check (nethealth_pods)"])
    result = _promtool_test(promtool, case)
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    titles = {panel["title"] for panel in dashboard_queries.dashboard()["panels"]}
    assert {
        "Checks by state",
        "Degraded pods: class and hint",
        "Failure ratio per pod",
        "Remediation actions",
        "Run duration",
    } <= titles


def test_every_panel_reads_the_chosen_prometheus_and_explains_itself() -> None:
    board = dashboard_queries.dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["check"]["allValue"] == ".*"
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["description"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = dashboard_queries.dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = [
        {
            (x, y)
            for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
            for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
        }
        for p in panels
    ]
    for (i, a), (j, b) in itertools.combinations(enumerate(cells), 2):
        assert not a & b, f"{panels[i]['title']} overlaps {panels[j]['title']}"
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)
