"""The reference documents say what the code does: the configuration reference is the CRD
schema's, the metrics reference lists exactly what the operator serves, and the README's
links lead somewhere."""

from __future__ import annotations

import datetime
import pathlib
import re
from typing import Any

import pytest

from nethealth import cli, metrics, model, schema
from nethealth.commands import crd as crd_command
from nethealth.detection import decision, reporting, results, selection
from nethealth.model import definition, events
from nethealth.probe import types
from nethealth.schema import reference

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / crd_command.REFERENCE_DOC
METRICS = ROOT / "docs" / "metrics.md"
# The operator's own families, and the standard ones prometheus_client's collectors add.
SERVED_PREFIXES = (metrics.PREFIX + "_", "process_", "python_")
README = ROOT / "README.md"


def _crd_paths(node: dict[str, Any], *, path: str) -> dict[str, dict[str, Any]]:
    """Every field of the CRD's OpenAPI schema below ``path``, read from the CRD itself."""
    found = {path: node}
    if node.get("type") == "array":
        item = node["items"]
        found.update(
            (p, n) for p, n in _crd_paths(item, path=f"{path}[]").items() if p != f"{path}[]"
        )
    for name, child in (node.get("properties") or {}).items():
        found.update(_crd_paths(child, path=f"{path}.{name}"))
    return found


def _spec_schema() -> dict[str, Any]:
    version = definition.manifest()["spec"]["versions"][0]
    spec: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


def _generated_block(text: str) -> str:
    _, _, rest = text.partition(reference.BEGIN + "\n")
    block, _, _ = rest.partition(reference.END)
    return block


def _table_rows(text: str) -> dict[str, list[str]]:
    """First cell (without backticks) -> the row's cells, for rows whose first cell is code."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


# --- configuration reference -----------------------------------------------------------


def test_the_configuration_reference_in_the_docs_is_what_the_model_renders_now() -> None:
    kept = _generated_block(CONFIGURATION.read_text(encoding="utf-8"))
    assert kept == crd_command.reference(), (
        f"{CONFIGURATION.relative_to(ROOT)} is stale: run `nethealth crd --write`"
    )


def test_the_reference_has_one_row_per_field_of_the_crd_spec_and_no_other() -> None:
    rows = _table_rows(crd_command.reference())
    assert set(rows) == set(_crd_paths(_spec_schema(), path="spec"))


def test_every_default_and_enumeration_of_the_crd_is_in_its_row() -> None:
    rows = _table_rows(crd_command.reference())
    for path, node in _crd_paths(_spec_schema(), path="spec").items():
        _, _, default, allowed, _ = rows[path]
        written = node.get("default")
        if isinstance(written, dict):
            # An object's default is its fields' defaults: each is in its own row.
            for name, value in written.items():
                assert f"`{value}`".lower() in rows[f"{path}.{name}"][2].lower(), path
        elif written is not None:
            assert f"`{written}`".lower() in default.lower(), path
        for value in node.get("enum", ()):
            assert f"`{value}`" in allowed, path


def test_every_bound_of_the_crd_is_in_its_row() -> None:
    rows = _table_rows(crd_command.reference())
    for path, node in _crd_paths(_spec_schema(), path="spec").items():
        _, kind, _, allowed, _ = rows[path]
        if kind == "duration":
            continue  # its maxLength only caps the CEL cost; its bounds are durations
        for bound in ("maximum", "maxLength", "maxItems", "maxProperties"):
            if bound in node:
                assert f"{node[bound]:g}" in allowed, f"{path}: {bound} {node[bound]}"


def test_rules_that_compare_fields_are_listed_on_the_field_they_name() -> None:
    rows = _table_rows(crd_command.reference())
    assert "spread must be shorter than interval" in rows["spec.probe.spread"][3]
    assert "deadline must be longer than spread plus timeout" in rows["spec.probe.deadline"][3]
    assert "threshold.minSamples must be at most" in rows["spec.threshold.minSamples"][3]
    assert "selector must have matchLabels" in rows["spec.selector"][3]


def test_required_fields_say_so_and_optional_ones_do_not() -> None:
    rows = _table_rows(crd_command.reference())
    spec = _spec_schema()
    assert {p for p in spec["required"]} == {
        name for name in spec["properties"] if rows[f"spec.{name}"][2] == "required"
    }


def test_a_pipe_in_a_description_does_not_break_the_table() -> None:
    node = schema.Bool(description="on | off")
    (row,) = reference.rows(node, path="spec.flag")
    table = reference.markdown([row])
    assert r"on \| off" in table
    assert len(_table_rows(table)["spec.flag"]) == len(reference.HEADER)


def test_splice_replaces_only_the_generated_part_and_refuses_a_document_without_markers() -> None:
    document = f"intro\n{reference.BEGIN}\nold\n{reference.END}\noutro\n"
    assert reference.splice(document, generated="new\n") == (
        f"intro\n{reference.BEGIN}\nnew\n{reference.END}\noutro\n"
    )
    with pytest.raises(ValueError, match="markers"):
        reference.splice("intro only\n", generated="new\n")


def test_crd_reference_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crd", "--reference"]) == 0
    assert capsys.readouterr().out == crd_command.reference()


def test_crd_check_fails_when_the_reference_doc_is_stale_and_write_mends_only_the_table(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["crd", "--write", "--root", str(tmp_path)]) == 0
    doc = tmp_path / crd_command.REFERENCE_DOC
    stale = doc.read_text().replace("| `5m` |", "| `10m` |")
    doc.write_text("# Hand-written title\n\n" + stale + "\nHand-written tail.\n")
    capsys.readouterr()
    assert cli.main(["crd", "--check", "--root", str(tmp_path)]) == 1
    assert str(crd_command.REFERENCE_DOC) in capsys.readouterr().err
    assert cli.main(["crd", "--write", "--root", str(tmp_path)]) == 0
    assert cli.main(["crd", "--check", "--root", str(tmp_path)]) == 0
    mended = doc.read_text()
    assert mended.startswith("# Hand-written title\n")
    assert mended.endswith("Hand-written tail.\n")


def test_crd_write_refuses_a_reference_doc_without_markers(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / crd_command.REFERENCE_DOC
    doc.parent.mkdir(parents=True)
    doc.write_text("prose someone wrote\n")
    with pytest.raises(SystemExit, match="markers"):
        cli.main(["crd", "--write", "--root", str(tmp_path)])
    assert doc.read_text() == "prose someone wrote\n"


# --- metrics reference -------------------------------------------------------------------


def _served() -> str:
    """The exposition after one run with a healthy, a degraded and an inconclusive pod, a
    workload in the remediation record, one remediation action of each kind and a late run, so that
    every family has samples and every label shows."""
    observer = metrics.Observer()
    threshold = model.Threshold(
        failure_rate=0.2, min_samples=20, consecutive_runs=1, recovery_runs=1
    )
    outcomes = {
        key: results.Outcome(
            key=key,
            run=decision.RunResult(
                klass=klass, attempts=40, failures=failures, failure_blocks=min(failures, 1)
            ),
            hint=hint,
        )
        for key, klass, failures, hint in (
            ("apps/a", types.ProbeClass.HEALTHY, 0, None),
            ("apps/b", types.ProbeClass.POD_NAMESPACE, 20, "BurstyFailures: 3 blocks"),
        )
    }
    outcomes["apps/c"] = results.inconclusive(
        key="apps/c", why=results.Why.NOT_FINISHED, reason="deadline"
    )
    records = {
        key: decision.decide(previous=None, run=o.run, threshold=threshold)
        for key, o in outcomes.items()
    }
    refs = {
        key: selection.PodRef(
            namespace="apps", name=key[5:], uid=key, node="node-a", ip="198.51.100.10"
        )
        for key in outcomes
    }
    now = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    views = reporting.views_after_run(
        records=records, refs=refs, outcomes=outcomes, previous={}, now=now
    )
    blocked = model.WorkloadResult(
        kind="Deployment",
        namespace="apps",
        name="b",
        state=model.WorkloadState.BLOCKED,
        reason=str(model.Reason.HOST_PORT_CONFLICT),
        message="b: host port 8080 is taken",
        pods=("b",),
        patch=None,
        original=None,
        changed_at=None,
    )
    spec = _check().spec
    observer.run_finished(
        check="apps/web",
        spec=spec,
        outcomes=outcomes,
        views=views,
        workloads=[blocked],
        started=now - datetime.timedelta(seconds=9),
        finished=now,
    )
    for action in sorted(events.ACTIONS):
        observer.remediation_action(check="apps/web", action=action)
    observer.run_late(check="apps/web")
    return observer.render()


def _check() -> model.NetHealthCheck:
    return model.parse(
        {
            "apiVersion": model.API_VERSION,
            "kind": model.KIND,
            "metadata": {"name": "web", "namespace": "apps", "uid": "u", "generation": 1},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "targets": [{"name": "api", "host": "203.0.113.1", "port": 443}],
            },
        }
    )


def _families(text: str) -> dict[str, tuple[str, set[str]]]:
    """Family name -> (type, label names) from exposition text."""
    types_ = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    found: dict[str, tuple[str, set[str]]] = {name: (kind, set()) for name, kind in types_.items()}
    for series, labels in re.findall(r"^(\w+)\{([^}]*)\}", text, re.MULTILINE):
        family = next(f for f in found if series == f or series.startswith(f + "_"))
        found[family][1].update(re.findall(r'(\w+)="', labels) if family == series else ())
    return found


def _documented() -> dict[str, tuple[str, set[str]]]:
    rows = _table_rows(METRICS.read_text(encoding="utf-8"))
    return {
        name: (cells[1], set(re.findall(r"`(\w+)`", cells[2])))
        for name, cells in rows.items()
        if name.startswith(SERVED_PREFIXES)
    }


def test_every_metric_the_operator_serves_is_documented_with_its_type_and_labels() -> None:
    assert _documented() == _families(_served())


def test_a_fresh_operator_serves_no_family_the_docs_do_not_list() -> None:
    # Families are declared even before any run (HELP/TYPE lines): none may be missing.
    assert set(_families(metrics.Observer().render())) == set(_documented())


@pytest.mark.parametrize(
    "value",
    sorted(
        {str(c) for c in types.ProbeClass}
        | {str(w) for w in results.Why}
        | set(events.ACTIONS)
        | {str(s) for s in model.PodState}
        | {str(s) for s in model.WorkloadState}
    ),
)
def test_every_class_reason_action_and_state_a_label_can_take_is_explained(value: str) -> None:
    assert f"`{value}`" in METRICS.read_text(encoding="utf-8")


# --- README -------------------------------------------------------------------------------


def test_every_relative_link_of_the_readme_leads_to_a_file() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((?!https?://|#)([^)#]+)", text)
    assert links, "the README links its reference documents"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"


@pytest.mark.parametrize(
    "document",
    ["docs/configuration.md", "docs/metrics.md", "docs/security.md", "docs/kubectl-plugin.md"],
)
def test_the_readme_links_every_reference_document(document: str) -> None:
    assert f"]({document})" in README.read_text(encoding="utf-8")
