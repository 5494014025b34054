"""The chart's alerts, evaluated by the real ``promtool test rules`` on series written for
each alert: every alert has a file in ``alert_rules/`` named after it, with a case where
it fires (labels and annotations exact) and one where it must not.

``promtool`` is Debian's ``prometheus`` package (``scripts/setup.sh`` installs it). Outside
CI a machine without it skips these tests; in CI (``CI=true``) that fails, because a
skipped alert test is a green build that tested nothing.
"""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "charts" / "nethealth-operator" / "files" / "alerts.yaml"
CASES = pathlib.Path(__file__).parent / "alert_rules"
RUNBOOKS = ROOT / "docs" / "alerts.md"


def _alerts() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def _case_files() -> list[pathlib.Path]:
    return sorted(CASES.glob("*.yaml"))


def _expectations(path: pathlib.Path) -> list[dict[str, Any]]:
    tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return [expected for test in tests for expected in test["alert_rule_test"]]


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_rule_file_is_valid_for_prometheus(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", _case_files(), ids=lambda path: path.stem)
def test_each_alert_fires_and_stays_quiet_exactly_as_its_cases_say(
    promtool: str, case: pathlib.Path
) -> None:
    result = _run(promtool, "test", "rules", str(case))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_its_own_case_file_and_every_case_file_an_alert() -> None:
    assert {path.stem for path in _case_files()} == set(_alerts())


@pytest.mark.parametrize("case", _case_files(), ids=lambda path: path.stem)
def test_every_case_file_tests_the_charts_rules_and_only_its_own_alert(
    case: pathlib.Path,
) -> None:
    document = yaml.safe_load(case.read_text(encoding="utf-8"))
    (rule_file,) = document["rule_files"]
    assert (case.parent / rule_file).resolve() == RULES
    assert {e["alertname"] for e in _expectations(case)} == {case.stem}


@pytest.mark.parametrize("case", _case_files(), ids=lambda path: path.stem)
def test_every_alert_has_a_case_that_fires_and_one_that_must_not(case: pathlib.Path) -> None:
    expectations = _expectations(case)
    assert any(e.get("exp_alerts") for e in expectations), "no case where it fires"
    assert any(not e.get("exp_alerts") for e in expectations), "no case where it must not"


def test_a_wrong_expectation_fails_so_the_cases_prove_something(
    promtool: str, tmp_path: pathlib.Path
) -> None:
    document = yaml.safe_load((CASES / "NetHealthPodDegraded.yaml").read_text(encoding="utf-8"))
    document["rule_files"] = [str(RULES)]
    firing = next(e for t in document["tests"] for e in t["alert_rule_test"] if e["exp_alerts"])
    firing["exp_alerts"][0]["exp_labels"]["pod"] = "apps/some-other-pod"
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = _run(promtool, "test", "rules", str(wrong))
    assert result.returncode != 0
    assert "apps/some-other-pod" in result.stdout + result.stderr


@pytest.mark.parametrize("alert", sorted(_alerts()))
def test_every_alert_says_what_broke_and_has_a_runbook(alert: str) -> None:
    rule = _alerts()[alert]
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert {"summary", "description"} <= set(rule["annotations"])
    assert f"### {alert}\n" in RUNBOOKS.read_text(encoding="utf-8")
