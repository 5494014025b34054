"""``status``: every check with its pods, one row per pod, read from the status the
operator writes (validated against the CRD's schema here, so the shapes are real)."""

from __future__ import annotations

import datetime
import re

from nethealth import model
from nethealth.plugin import table

NOW = datetime.datetime(2026, 2, 15, 12, 0, 0, tzinfo=datetime.UTC)
HINT = (
    "PolicyRuleUnreachable: policy rule 'pref 100 ipproto 6 dport 443 unreachable' (IPv4)"
    " refuses matching traffic"
)


def condition(kind: str, status: str, reason: str, message: str = "") -> dict:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-02-15T11:00:00Z",
    }


def check(name: str, *, namespace: str = "apps", status: dict | None = None) -> dict:
    """A check as the API returns it, its status parsed and dumped by the operator's model."""
    body: dict = {
        "apiVersion": model.API_VERSION,
        "kind": model.KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }
    if status is not None:
        body["status"] = model.dump_status(model.parse_status(status))
    return body


def pod_result(name: str, state: str, **fields) -> dict:
    return {"name": name, "state": state, "node": "node-a", **fields}


DEGRADED = check(
    "web",
    status={
        "observedGeneration": 1,
        "conditions": [
            condition("Ready", "True", "Running"),
            condition("Degraded", "True", "PodsDegraded", "web-1 is Degraded"),
        ],
        "pods": [
            pod_result(
                "web-1",
                "Degraded",
                **{"class": "PodNamespace", "failureRate": 0.5, "samples": 20},
                hint=HINT,
                lastRun="2026-02-15T11:59:15Z",
            ),
            pod_result(
                "web-2",
                "Healthy",
                **{"class": "Healthy", "failureRate": 0.0, "samples": 20},
                lastRun="2026-02-15T11:57:00Z",
            ),
        ],
        "lastRunTime": "2026-02-15T11:59:15Z",
    },
)
NOTHING_SELECTED = check(
    "nobody",
    namespace="other",
    status={
        "conditions": [
            condition("Ready", "False", "NoPodsSelected", "spec.selector 'app=x' matches no pod")
        ],
        "lastRunTime": "2026-02-15T09:00:00Z",
    },
)


def cells(text: str) -> list[list[str]]:
    """The table's rows split on its column gaps (three spaces or more)."""
    return [re.split(r" {3,}", line.strip()) for line in text.splitlines()]


def test_each_pod_of_a_check_is_a_row_worst_first_with_its_state_class_and_rate():
    rows = table.rows([DEGRADED], now=NOW)
    text = table.render(rows, with_namespace=False)
    header, first, second = cells(text)
    assert header == list(table.COLUMNS)
    assert first[:8] == [
        "web",
        "True",
        "True",
        "web-1",
        "Degraded",
        "PodNamespace",
        "50% of 20",
        "45s ago",
    ]
    assert first[8].startswith("PolicyRuleUnreachable: policy rule 'pref 100")
    assert first[8].endswith("…")
    assert len(first[8]) <= table.HINT_WIDTH  # cut after a whole word
    assert second[:8] == [
        "web",
        "True",
        "True",
        "web-2",
        "Healthy",
        "Healthy",
        "0% of 20",
        "3m ago",
    ]
    assert second[8] == "-"


def test_a_check_without_pods_says_why_in_its_row():
    (row,) = table.rows([NOTHING_SELECTED], now=NOW)
    assert (row.ready, row.pod, row.state, row.last_run) == ("False", "-", "-", "3h ago")
    assert row.hint.startswith("NoPodsSelected: spec.selector 'app=x'")


def test_a_check_the_operator_has_not_seen_yet_is_listed_as_not_run():
    (row,) = table.rows([check("new")], now=NOW)
    assert (row.ready, row.degraded, row.last_run, row.hint) == ("-", "-", "-", "NotRunYet")


def test_all_namespaces_adds_the_namespace_column_and_sorts_by_it():
    text = table.render(table.rows([NOTHING_SELECTED, DEGRADED], now=NOW), with_namespace=True)
    header, *body = cells(text)
    assert header[:2] == ["NAMESPACE", "CHECK"]
    assert [(r[0], r[1]) for r in body] == [("apps", "web"), ("apps", "web"), ("other", "nobody")]


def test_a_pod_of_another_namespace_is_named_with_it():
    spanning = check(
        "wide",
        namespace="nethealth-system",
        status={"pods": [pod_result("db-0", "Suspect", namespace="data")]},
    )
    (row,) = table.rows([spanning], now=NOW)
    assert row.pod == "data/db-0"


def test_ages_read_like_kubectl():
    def ago(seconds: int) -> str:
        moment = NOW - datetime.timedelta(seconds=seconds)
        return table.age(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), now=NOW)

    assert [ago(s) for s in (0, 59, 119, 120, 7199, 7200, 3 * 86400)] == [
        "0s ago",
        "59s ago",
        "119s ago",
        "2m ago",
        "119m ago",
        "2h ago",
        "3d ago",
    ]
    assert table.age(None, now=NOW) == "-"
    assert table.age("yesterday", now=NOW) == "-"
