"""Field specs of single values: strings, numbers, flags, choices, times, quantities."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from collections.abc import Sequence
from typing import TypeVar, cast

from nethealth.schema.base import Json, JsonObject, Node, Rule, SpecError, describe, matches

E = TypeVar("E", bound=enum.Enum)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Str(Node[str]):
    """A string; ``pattern`` is checked by a CEL rule so that the message can say in words
    what is allowed (``hint``) instead of quoting a regular expression."""

    max_length: int  # always bounded: the API server's CEL cost budget needs it
    min_length: int = 0
    pattern: str | None = None
    hint: str = ""

    def _openapi(self, *, field: str) -> JsonObject:
        schema: JsonObject = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            schema["minLength"] = self.min_length
        return schema

    def _builtin_rules(self) -> Sequence[Rule[str]]:
        if self.pattern is None:
            return ()
        pattern = self.pattern
        return (
            Rule(
                cel=f"self.matches(r'{pattern}')",
                message=f"{{field}} must be {self.hint}",
                check=lambda value: matches(pattern, value),
            ),
        )

    def _load(self, raw: object, *, path: str, field: str) -> str:
        if not isinstance(raw, str):
            raise SpecError(path=path, message=f"{field} must be a string, got {describe(raw)}")
        if not self.min_length <= len(raw) <= self.max_length:
            raise SpecError(
                path=path,
                message=f"{field} must have {self.min_length} to {self.max_length} characters",
            )
        return raw

    def dump(self, value: str) -> Json:
        return str(value)  # a StrEnum member (a condition type, a reason) as plain text


@dataclasses.dataclass(frozen=True, kw_only=True)
class Int(Node[int]):
    """An integer; without ``maximum`` it is an int64 (the API server cannot take 2**63-1
    as a bound: it checks bounds as float64)."""

    minimum: int
    maximum: int | None = None

    def _openapi(self, *, field: str) -> JsonObject:
        if self.maximum is None:
            return {"type": "integer", "format": "int64", "minimum": self.minimum}
        fmt = "int32" if self.maximum < 2**31 else "int64"
        return {"type": "integer", "format": fmt, "minimum": self.minimum, "maximum": self.maximum}

    def _load(self, raw: object, *, path: str, field: str) -> int:
        # JSON has one number type: 3.0 is an integer to the API server, and so it is here.
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise SpecError(path=path, message=f"{field} must be an integer, got {describe(raw)}")
        if raw < self.minimum or (self.maximum is not None and raw > self.maximum):
            bounds = f"from {self.minimum} to {self.maximum}"
            if self.maximum is None:
                bounds = f"at least {self.minimum}"
            raise SpecError(path=path, message=f"{field} must be {bounds}, got {raw}")
        return raw

    def dump(self, value: int) -> Json:
        return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Number(Node[float]):
    """A JSON number; bounds are exclusive when the ``exclusive_*`` flags say so."""

    minimum: float
    maximum: float
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def _openapi(self, *, field: str) -> JsonObject:
        schema: JsonObject = {"type": "number", "minimum": self.minimum, "maximum": self.maximum}
        if self.exclusive_minimum:
            schema["exclusiveMinimum"] = True
        if self.exclusive_maximum:
            schema["exclusiveMaximum"] = True
        return schema

    def _load(self, raw: object, *, path: str, field: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise SpecError(path=path, message=f"{field} must be a number, got {describe(raw)}")
        low_ok = raw > self.minimum if self.exclusive_minimum else raw >= self.minimum
        high_ok = raw < self.maximum if self.exclusive_maximum else raw <= self.maximum
        if not (low_ok and high_ok):
            low = "greater than" if self.exclusive_minimum else "at least"
            high = "less than" if self.exclusive_maximum else "at most"
            raise SpecError(
                path=path,
                message=f"{field} must be {low} {self.minimum} and {high} {self.maximum}, "
                f"got {raw}",
            )
        return float(raw)

    def dump(self, value: float) -> Json:
        return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bool(Node[bool]):
    def _openapi(self, *, field: str) -> JsonObject:
        return {"type": "boolean"}

    def _load(self, raw: object, *, path: str, field: str) -> bool:
        if not isinstance(raw, bool):
            raise SpecError(
                path=path, message=f"{field} must be true or false, got {describe(raw)}"
            )
        return raw

    def dump(self, value: bool) -> Json:
        return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Choice(Node[E]):
    """One of an enum's values; the enum class is the list of what is allowed."""

    choices: type[E]

    def _openapi(self, *, field: str) -> JsonObject:
        return {"type": "string", "enum": [member.value for member in self.choices]}

    def _load(self, raw: object, *, path: str, field: str) -> E:
        for member in self.choices:
            if raw == member.value:
                return member
        allowed = ", ".join(str(member.value) for member in self.choices)
        raise SpecError(path=path, message=f"{field} must be one of {allowed}, got {raw!r}")

    def dump(self, value: E) -> Json:
        return str(value.value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timestamp(Node[datetime.datetime]):
    """An RFC 3339 time, as Kubernetes writes them (``2026-01-02T03:04:05Z``)."""

    def _openapi(self, *, field: str) -> JsonObject:
        return {"type": "string", "format": "date-time"}

    def _load(self, raw: object, *, path: str, field: str) -> datetime.datetime:
        try:
            value = datetime.datetime.fromisoformat(cast(str, raw))
        except (TypeError, ValueError):
            raise SpecError(path=path, message=f"{field} must be an RFC 3339 time") from None
        if value.tzinfo is None:
            raise SpecError(path=path, message=f"{field} must be an RFC 3339 time with a zone")
        return value

    def dump(self, value: datetime.datetime) -> Json:
        utc = value.astimezone(datetime.UTC).replace(microsecond=0)
        return utc.isoformat().replace("+00:00", "Z")


# Kubernetes' resource.Quantity syntax (from apimachinery's quantity.go).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Quantity(Node[str]):
    """A resource quantity ("100m", "64Mi", or a bare integer), kept as its text."""

    def _openapi(self, *, field: str) -> JsonObject:
        return {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        }

    def _builtin_rules(self) -> Sequence[Rule[str]]:
        return (
            Rule(
                cel="type(self) == int || isQuantity(self)",
                message="{field} must be a quantity such as 100m or 64Mi",
                check=lambda value: True,  # _load already refused what does not match
            ),
        )

    def _load(self, raw: object, *, path: str, field: str) -> str:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not matches(QUANTITY_PATTERN, raw):
            raise SpecError(path=path, message=f"{field} must be a quantity such as 100m or 64Mi")
        return raw

    def dump(self, value: str) -> Json:
        return value
