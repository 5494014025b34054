"""The CRD kept in the repository is what the model renders, and says what the model does."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import pathlib
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

from nethealth import cli, model, schema
from nethealth.model import definition

ROOT = pathlib.Path(__file__).parents[2]
KEPT = ROOT / "crds" / definition.FILENAME
CHART_COPY = ROOT / "charts/nethealth-operator/crds" / definition.FILENAME


def _kept_schema() -> dict[str, Any]:
    manifest = yaml.safe_load(KEPT.read_text())
    (version,) = manifest["spec"]["versions"]
    root: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return root


def test_kept_crd_is_what_the_model_renders() -> None:
    assert KEPT.read_text() == definition.render(), "run `nethealth crd --write`"


def test_chart_copy_equals_the_kept_crd_byte_for_byte() -> None:
    assert CHART_COPY.read_bytes() == KEPT.read_bytes()


def test_crd_names_and_scope() -> None:
    spec = yaml.safe_load(KEPT.read_text())["spec"]
    assert spec["group"] == "nethealth.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "NetHealthCheck"
    assert spec["names"]["plural"] == "nethealthchecks"
    assert spec["names"]["shortNames"] == ["nethc"]
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}


def test_crd_check_command_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crd", "--check", "--root", str(ROOT)]) == 0
    assert capsys.readouterr().err == ""


def test_crd_check_command_fails_when_a_copy_drifted(tmp_path: pathlib.Path) -> None:
    assert cli.main(["crd", "--write", "--root", str(tmp_path)]) == 0
    assert cli.main(["crd", "--check", "--root", str(tmp_path)]) == 0
    chart_copy = tmp_path / definition.PATHS[1]
    chart_copy.write_text(chart_copy.read_text().replace("maxItems: 16", "maxItems: 17"))
    assert cli.main(["crd", "--check", "--root", str(tmp_path)]) == 1


def test_crd_command_prints_the_kept_crd(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crd"]) == 0
    assert capsys.readouterr().out == KEPT.read_text()


def _objects(node: schema.Node[Any]) -> Iterator[schema.Obj[Any]]:
    if isinstance(node, schema.Obj):
        yield node
        for prop in node.props.values():
            yield from _objects(prop.node)
    elif isinstance(node, schema.List):
        yield from _objects(node.item)
    elif isinstance(node, schema.Map):
        yield from _objects(node.value)


ALL_OBJECTS = [*_objects(model.SPEC), *_objects(model.STATUS)]

# The Python type each kind of node loads to.
LOADS_TO: dict[type[Any], Any] = {
    schema.Str: str,
    schema.Quantity: str,
    schema.Int: int,
    schema.Number: float,
    schema.Bool: bool,
    schema.Duration: datetime.timedelta,
    schema.Timestamp: datetime.datetime,
    schema.Unchecked: Mapping[str, Any],
}


def _loads_to(node: schema.Node[Any]) -> Any:
    if isinstance(node, schema.Obj):
        return node.cls
    if isinstance(node, schema.Choice):
        return node.choices
    if isinstance(node, schema.List):
        return tuple[_loads_to(node.item), ...]
    if isinstance(node, schema.Map):
        return Mapping[str, _loads_to(node.value)]
    return LOADS_TO[type(node)]


@pytest.mark.parametrize("obj", ALL_OBJECTS, ids=lambda obj: obj.cls.__name__)
def test_model_field_types_match_what_the_schema_loads(obj: schema.Obj[Any]) -> None:
    hints = typing.get_type_hints(obj.cls)
    for attr, prop in obj.props.items():
        expected = _loads_to(prop.node)
        may_be_absent = not prop.required and prop.node.default is None and prop.missing is None
        assert hints[attr] == (expected | None if may_be_absent else expected), attr


BOUNDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "maxProperties": "max_properties",
}


def _schema_at(root: dict[str, Any], path: str) -> dict[str, Any]:
    node = root
    for part in path.split("."):
        node = node["items"] if node.get("type") == "array" else node
        node = node["properties"][part]
    return node


def _schema_path(obj: schema.Obj[Any]) -> str:
    """Where an object node sits in the CRD, found by walking from spec and status."""
    for top, root in (("spec", model.SPEC), ("status", model.STATUS)):
        found = _find(root, obj, path=top)
        if found is not None:
            return found
    raise LookupError(obj.cls.__name__)


def _find(node: schema.Node[Any], target: schema.Obj[Any], *, path: str) -> str | None:
    if node is target:
        return path
    if isinstance(node, schema.List):
        return _find(node.item, target, path=path)
    if isinstance(node, schema.Obj):
        for attr, name in node.json_names().items():
            found = _find(node.props[attr].node, target, path=f"{path}.{name}")
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("obj", ALL_OBJECTS, ids=lambda obj: obj.cls.__name__)
def test_every_model_field_is_in_the_kept_crd_with_its_default_and_bounds(
    obj: schema.Obj[Any],
) -> None:
    kept = _schema_at(_kept_schema(), _schema_path(obj))
    kept = kept["items"] if kept.get("type") == "array" else kept
    assert set(kept["properties"]) == set(obj.json_names().values())
    for attr, name in obj.json_names().items():
        node, field = obj.props[attr].node, kept["properties"][name]
        assert (name in kept.get("required", [])) == obj.props[attr].required, name
        if node.default is not None:
            parsed_default = node.load(field["default"], path=name, field=name)
            assert parsed_default == node.load_default(path=name, field=name), name
        else:
            assert "default" not in field, name
        if isinstance(node, schema.Duration):  # bounded by CEL rules, not OpenAPI
            cel = " ".join(rule["rule"] for rule in field["x-kubernetes-validations"])
            assert f"duration('{node.minimum}')" in cel, name
            assert f"duration('{node.maximum}')" in cel, name
            continue
        for bound, attribute in BOUNDS.items():
            expected = getattr(node, attribute, None)
            if bound in ("minLength", "minItems") and expected == 0:
                expected = None  # a zero lower bound on a length is left out
            assert field.get(bound) == expected, (name, bound)


def _apply_openapi_defaults(value: Any, node: dict[str, Any]) -> Any:
    """Structural-schema defaulting as the API server does it, written independently of
    nethealth.schema: fill absent properties that have a default, recurse into objects and
    arrays."""
    if isinstance(value, dict) and "properties" in node:
        for name, child in node["properties"].items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                value[name] = _apply_openapi_defaults(value[name], child)
    elif isinstance(value, list) and "items" in node:
        return [_apply_openapi_defaults(item, node["items"]) for item in value]
    return value


def test_kept_crd_defaults_a_minimal_spec_exactly_as_the_model_does() -> None:
    (doc,) = list(yaml.safe_load_all((ROOT / "examples/minimal.yaml").read_text()))
    defaulted = _apply_openapi_defaults(
        copy.deepcopy(doc["spec"]), _kept_schema()["properties"]["spec"]
    )
    assert model.SPEC.dump(model.parse_spec(doc["spec"])) == defaulted


def _walk(node: dict[str, Any], *, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield name, node
    for child_name, child in node.get("properties", {}).items():
        yield from _walk(child, name=child_name)
    if "items" in node:
        yield from _walk(node["items"], name=name)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], name=f"{name} values")


def test_every_cel_rule_message_names_a_field() -> None:
    rules = [
        (name, rule)
        for name, node in _walk(_kept_schema(), name="")
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert len(rules) >= 10
    for name, rule in rules:
        named = rule.get("fieldPath", "").rsplit(".", 1)[-1] or name
        assert rule["message"].startswith(named) or named in rule["message"], rule


def test_every_string_and_list_is_bounded_for_the_cel_cost_budget() -> None:
    for name, node in _walk(_kept_schema()["properties"]["spec"], name="spec"):
        if node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, name
        if node.get("type") == "array":
            assert "maxItems" in node, name


def test_printer_columns_show_selected_degraded_remediated_mode_and_age() -> None:
    columns = {column["name"]: column for column in definition.PRINTER_COLUMNS}
    assert [c["name"] for c in definition.PRINTER_COLUMNS if not c.get("priority")] == [
        "Selected",
        "Degraded",
        "Remediated",
        "Mode",
        "Age",
    ]
    root = _kept_schema()
    for column in columns.values():
        path = column["jsonPath"].lstrip(".").split("[")[0]
        if not path.startswith("metadata"):
            assert _schema_at(root, path), column


def test_status_fields_the_operator_writes_are_not_pruned() -> None:
    status = _kept_schema()["properties"]["status"]["properties"]
    assert status["kopf"]["x-kubernetes-preserve-unknown-fields"] is True
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    assert status["pods"]["maxItems"] == model.MAX_POD_RESULTS


def test_generated_defaults_satisfy_their_own_rules() -> None:
    for obj in ALL_OBJECTS:
        for attr, prop in obj.props.items():
            if prop.node.default is not None:
                prop.node.load_default(path=attr, field=attr)


def test_schema_refuses_a_model_class_whose_fields_differ() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Two:
        a: int
        b: int

    with pytest.raises(TypeError, match="fields are"):
        schema.Obj(cls=Two, props={"a": schema.Prop(node=schema.Int(minimum=0, maximum=1))})
