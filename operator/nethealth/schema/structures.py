"""Field specs that hold others: lists, maps, objects (one per dataclass), and objects
left to someone else."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from nethealth.schema.base import Json, JsonObject, Node, SpecError, camel, describe

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, kw_only=True)
class List(Node[tuple[T, ...]]):
    """A bounded list, loaded as a tuple. ``list_type`` is the server-side-apply merge
    strategy: ``set`` (unique scalars, merged per value), ``map`` (merged per key), or
    ``atomic`` (replaced whole)."""

    item: Node[T]
    max_items: int
    min_items: int = 0
    list_type: str = "atomic"
    map_keys: tuple[str, ...] = ()

    def _openapi(self, *, field: str) -> JsonObject:
        schema: JsonObject = {"type": "array", "items": self.item.openapi(field=field)}
        if self.min_items:
            schema["minItems"] = self.min_items
        schema["maxItems"] = self.max_items
        schema["x-kubernetes-list-type"] = self.list_type
        if self.map_keys:
            schema["x-kubernetes-list-map-keys"] = list(self.map_keys)
        return schema

    def _load(self, raw: object, *, path: str, field: str) -> tuple[T, ...]:
        if not isinstance(raw, list):
            raise SpecError(path=path, message=f"{field} must be a list, got {describe(raw)}")
        if not self.min_items <= len(raw) <= self.max_items:
            raise SpecError(
                path=path,
                message=f"{field} must have {self.min_items} to {self.max_items} items, "
                f"got {len(raw)}",
            )
        items = tuple(
            self.item.load(value, path=f"{path}[{index}]", field=field)
            for index, value in enumerate(raw)
        )
        self._check_unique(raw, path=path, field=field)
        return items

    def _check_unique(self, raw: list[Any], *, path: str, field: str) -> None:
        seen: list[Any] = []
        for index, value in enumerate(raw):
            key = [value.get(k) for k in self.map_keys] if self.list_type == "map" else value
            if self.list_type in ("set", "map") and key in seen:
                raise SpecError(path=f"{path}[{index}]", message=f"duplicate {field} entry")
            seen.append(key)

    def dump(self, value: tuple[T, ...]) -> Json:
        return [self.item.dump(item) for item in value]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Map(Node[Mapping[str, T]]):
    """A string-keyed map of one value type; keys are checked by ``rules`` (CEL ``all``)."""

    value: Node[T]
    max_properties: int

    def _openapi(self, *, field: str) -> JsonObject:
        return {
            "type": "object",
            "additionalProperties": self.value.openapi(field=f"{field} values"),
            "maxProperties": self.max_properties,
        }

    def _load(self, raw: object, *, path: str, field: str) -> Mapping[str, T]:
        if not isinstance(raw, dict):
            raise SpecError(path=path, message=f"{field} must be a map, got {describe(raw)}")
        if len(raw) > self.max_properties:
            raise SpecError(
                path=path, message=f"{field} must have at most {self.max_properties} entries"
            )
        return {
            str(key): self.value.load(value, path=f"{path}[{key}]", field=f"{field} values")
            for key, value in raw.items()
        }

    def dump(self, value: Mapping[str, T]) -> Json:
        return {key: self.value.dump(item) for key, item in value.items()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unchecked(Node[JsonObject]):
    """An object whose content belongs to someone else (kopf's bookkeeping in status):
    kept as is, never pruned by the API server."""

    def _openapi(self, *, field: str) -> JsonObject:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def _load(self, raw: object, *, path: str, field: str) -> JsonObject:
        if not isinstance(raw, dict):
            raise SpecError(path=path, message=f"{field} must be an object, got {describe(raw)}")
        return raw

    def dump(self, value: JsonObject) -> Json:
        return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Prop:
    """A property of an object: its node, whether it must be given, its JSON name if that
    is not the camelCase of the Python attribute."""

    node: Node[Any]
    required: bool = False
    json_name: str | None = None
    missing: Any = None  # the Python value when absent without a default, e.g. () for lists


@dataclasses.dataclass(frozen=True, kw_only=True)
class Obj(Node[T]):
    """An object whose properties are the fields of a frozen dataclass, one to one.

    Construction fails if ``props`` and the dataclass's fields differ, so the typed model
    and the schema cannot drift apart without the import failing.
    """

    cls: type[T]
    props: Mapping[str, Prop]

    def __post_init__(self) -> None:
        attrs = {f.name for f in dataclasses.fields(cast(Any, self.cls))}
        if attrs != set(self.props):
            raise TypeError(
                f"schema of {self.cls.__name__} lists {sorted(self.props)}, "
                f"its fields are {sorted(attrs)}"
            )

    def json_names(self) -> dict[str, str]:
        """Python attribute -> JSON property name."""
        return {attr: prop.json_name or camel(attr) for attr, prop in self.props.items()}

    def _openapi(self, *, field: str) -> JsonObject:
        names = self.json_names()
        schema: JsonObject = {"type": "object"}
        required = [names[attr] for attr, prop in self.props.items() if prop.required]
        if required:
            schema["required"] = required
        schema["properties"] = {
            names[attr]: prop.node.openapi(field=names[attr]) for attr, prop in self.props.items()
        }
        return schema

    def _load(self, raw: object, *, path: str, field: str) -> T:
        if not isinstance(raw, dict):
            raise SpecError(path=path, message=f"{field} must be an object, got {describe(raw)}")
        names = self.json_names()
        unknown = sorted(set(raw) - set(names.values()))
        if unknown:
            allowed = ", ".join(sorted(names.values()))
            raise SpecError(
                path=f"{path}.{unknown[0]}", message=f"unknown field; {field} has: {allowed}"
            )
        values: dict[str, Any] = {}
        for attr, prop in self.props.items():
            name = names[attr]
            child = f"{path}.{name}"
            if name in raw:
                values[attr] = prop.node.load(raw[name], path=child, field=name)
            elif prop.node.default is not None:
                values[attr] = prop.node.load_default(path=child, field=name)
            elif prop.required:
                raise SpecError(path=child, message=f"{name} is required")
            else:
                values[attr] = prop.missing
        return self.cls(**values)

    def dump(self, value: T) -> Json:
        names = self.json_names()
        dumped: dict[str, Json] = {}
        for attr, prop in self.props.items():
            item = getattr(value, attr)
            if item is not None and not (prop.missing is not None and item == prop.missing):
                dumped[names[attr]] = prop.node.dump(item)
        return dumped
