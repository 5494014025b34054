"""Durations as Go writes them ("30s", "5m", "1h30m"), which CEL's ``duration()`` parses."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Sequence

from nethealth.schema.base import Json, JsonObject, Node, Rule, SpecError, matches

# Go's time.ParseDuration syntax, which CEL's duration() parses, minus the units (ns, us)
# that are meaningless here and signs: "30s", "5m", "1h30m", "1.5s", "500ms".
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(h|ms|m|s))+$"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> datetime.timedelta:
    """A Go-style duration (see ``DURATION_PATTERN``) as a timedelta."""
    if not matches(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r}")
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    return datetime.timedelta(seconds=seconds)


def format_duration(value: datetime.timedelta) -> str:
    """The shortest Go-style text for a duration: 90 s is "1m30s", 0.5 s is "500ms"."""
    millis = round(value.total_seconds() * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    seconds, millis = divmod(millis, 1000)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{seconds}s" if seconds else "")
    parts.append(f"{millis}ms" if millis else "")
    return "".join(parts) or "0s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Duration(Node[datetime.timedelta]):
    """A Go-style duration string, bounded with CEL's ``duration()``.

    The bound rules are written ``!self.matches(...) || ...`` so that a malformed value
    gets one clear error (the format rule) instead of a CEL conversion error as well.
    """

    minimum: str
    maximum: str

    def _openapi(self, *, field: str) -> JsonObject:
        return {"type": "string", "maxLength": 32}

    def _builtin_rules(self) -> Sequence[Rule[datetime.timedelta]]:
        low, high = parse_duration(self.minimum), parse_duration(self.maximum)
        guard = f"!self.matches(r'{DURATION_PATTERN}')"
        return (
            Rule(
                cel=f"self.matches(r'{DURATION_PATTERN}')",
                message="{field} must be a duration such as 30s, 5m or 1h30m",
                check=lambda value: True,  # _load already refused what does not parse
            ),
            Rule(
                cel=f"{guard} || duration(self) >= duration('{self.minimum}')",
                message=f"{{field}} must be at least {self.minimum}",
                check=lambda value: value >= low,
            ),
            Rule(
                cel=f"{guard} || duration(self) <= duration('{self.maximum}')",
                message=f"{{field}} must be at most {self.maximum}",
                check=lambda value: value <= high,
            ),
        )

    def _load(self, raw: object, *, path: str, field: str) -> datetime.timedelta:
        if not isinstance(raw, str) or len(raw) > 32:
            raise SpecError(path=path, message=f"{field} must be a duration string")
        try:
            return parse_duration(raw)
        except ValueError:
            raise SpecError(
                path=path, message=f"{field} must be a duration such as 30s, 5m or 1h30m"
            ) from None

    def dump(self, value: datetime.timedelta) -> Json:
        return format_duration(value)
