"""The parts every field spec shares: the node, its rules, the error, JSON helpers."""

from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

T = TypeVar("T")

JsonObject = dict[str, Any]
Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"


class SpecError(ValueError):
    """A raw value broke a field's rule; ``path`` is the API server's path of the field."""

    def __init__(self, *, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule(Generic[T]):
    """A validation rule: CEL for the API server, ``check`` for the operator, one message.

    ``self`` in ``cel`` and the argument of ``check`` are the same value: the raw JSON for
    the API server, the loaded (typed) value for the operator. ``{field}`` in ``message``
    becomes the field's JSON name. ``field_path`` (relative, e.g. ``.probe.spread``) points
    the error at a child field when the rule sits on the parent because it compares fields.
    """

    cel: str
    message: str
    check: Callable[[T], bool]
    field_path: str | None = None

    def render(self, *, field: str) -> JsonObject:
        rendered: JsonObject = {"rule": self.cel, "message": self.text(field=field)}
        if self.field_path is not None:
            rendered["fieldPath"] = self.field_path
        return rendered

    def text(self, *, field: str) -> str:
        return self.message.replace("{field}", field)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Node(abc.ABC, Generic[T]):
    """One field's type, bounds, default and rules; subclasses add the type-specific part."""

    description: str = ""
    default: Any = None  # JSON, as the CRD declares it; None: no default
    rules: tuple[Rule[T], ...] = ()

    def openapi(self, *, field: str) -> JsonObject:
        schema: JsonObject = {}
        if self.description:
            schema["description"] = self.description
        schema.update(self._openapi(field=field))
        if self.default is not None:
            # Rendered through load and dump: a default that breaks its own rules fails here,
            # and an object's default comes out with its fields' defaults filled in (the API
            # server checks CEL rules against the default as written, without defaulting it).
            schema["default"] = self.dump(self.load_default(path=field, field=field))
        rules = [*self._builtin_rules(), *self.rules]
        if rules:
            schema["x-kubernetes-validations"] = [rule.render(field=field) for rule in rules]
        return schema

    def load(self, raw: object, *, path: str, field: str) -> T:
        value = self._load(raw, path=path, field=field)
        for rule in [*self._builtin_rules(), *self.rules]:
            if not rule.check(value):
                raise SpecError(path=path + (rule.field_path or ""), message=rule.text(field=field))
        return value

    def load_default(self, *, path: str, field: str) -> T:
        return self.load(copy_json(self.default), path=path, field=field)

    def _builtin_rules(self) -> Sequence[Rule[T]]:
        return ()

    @abc.abstractmethod
    def _openapi(self, *, field: str) -> JsonObject:
        raise NotImplementedError

    @abc.abstractmethod
    def _load(self, raw: object, *, path: str, field: str) -> T:
        raise NotImplementedError

    @abc.abstractmethod
    def dump(self, value: T) -> Json:
        raise NotImplementedError


def matches(pattern: str, value: str) -> bool:
    """CEL's ``matches`` (RE2) for the anchored patterns used here. ``fullmatch``, because
    Python's ``$`` also matches before a trailing newline and RE2's does not."""
    return re.fullmatch(pattern, value) is not None


def camel(name: str) -> str:
    """``max_remediated_pods`` -> ``maxRemediatedPods``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def describe(raw: object) -> str:
    return "nothing" if raw is None else f"{type(raw).__name__} {raw!r}"[:80]


def copy_json(value: Json) -> Json:
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value
