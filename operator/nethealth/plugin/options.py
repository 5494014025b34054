"""Pure: the plugin's flags as validated values.

``diagnose`` builds its probe Job from a ``model.Spec`` like a check's, so its flags are
validated by the same schema the API server enforces for a NetHealthCheck (bounds of
attempts, spread, timeouts, target hosts) instead of a second set of rules. Errors are
translated back to the flags a person typed: ``spec.probe.deadline`` is ``--timeout``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Final

from nethealth import model
from nethealth.probe import measure, types
from nethealth.remediation import hostnetwork

EXIT_USAGE: Final = 64  # EX_USAGE, as every nethealth command
DEFAULT_TIMEOUT: Final = 120.0  # the whole diagnosis: the Job's activeDeadlineSeconds
DEFAULT_ATTEMPTS: Final = 60
DEFAULT_SPREAD: Final = 30.0
DEFAULT_CONNECT_TIMEOUT: Final = 2.0
OUTPUTS: Final = ("text", "json", "yaml")

# The spec field each flag fills: errors name the flag, not the field.
_FLAG_OF_FIELD: Final = {
    "deadline": "--timeout",
    "spread": "--spread",
    "timeout": "--connect-timeout",
    "attempts": "--attempts",
    "image": "--image",
    "targets": "--target",
    "host": "--target",
    "port": "--target",
    "name": "--target",
}
# Words of the probe's rule messages that name a field of its own flag.
_FIELD_WORD: Final = re.compile(r"\b(deadline|spread|timeout|attempts|image)\b")

_KINDS: Final = {
    hostnetwork.Kind.DEPLOYMENT: ("deployment", "deployments", "deploy"),
    hostnetwork.Kind.STATEFULSET: ("statefulset", "statefulsets", "sts"),
    hostnetwork.Kind.DAEMONSET: ("daemonset", "daemonsets", "ds"),
}
_KIND_OF_WORD: Final = {
    word: kind for kind, words in _KINDS.items() for word in (*words, kind.value.lower())
}


class UsageError(ValueError):
    """A flag's value cannot be used; the message names the flag and what is allowed."""


def targets(values: Sequence[str]) -> tuple[types.Target, ...]:
    """``--target [NAME=]HOST:PORT`` values, as the probe parses them."""
    try:
        return tuple(measure.parse_target(value) for value in values)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def probe_spec(
    *,
    targets: Sequence[types.Target],
    attempts: int,
    spread: float,
    connect_timeout: float,
    timeout: float,
) -> model.Spec:
    """A check's spec for a one-off probe of one pod, validated like a NetHealthCheck."""
    if not targets:
        raise UsageError("--target: give at least one [NAME=]HOST:PORT")
    raw = {
        # The probe Job never uses the selector: it names its pod itself.
        "selector": {"matchLabels": {"nethealth.io/diagnose": "one-pod"}},
        "targets": [
            # Target names in a check are DNS labels; the probe takes any, so the ones a
            # person typed (or "host:port") are put back once the rest is validated.
            {"name": f"t{i}", "host": t.host, "port": t.port}
            for i, t in enumerate(targets)
        ],
        "probe": {
            "interval": "24h",  # the maximum: a one-off run has no interval
            "attempts": attempts,
            "spread": _duration(spread),
            "timeout": _duration(connect_timeout),
            "deadline": _duration(timeout),
        },
        "threshold": {"minSamples": 1},
    }
    try:
        spec = model.parse_spec(raw)
    except model.SpecError as exc:
        raise UsageError(_flag_error(exc, targets)) from None
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise UsageError(f"--target: names must be unique (got {', '.join(names)})")
    return dataclasses.replace(spec, targets=tuple(targets))


def _duration(seconds: float) -> str:
    """Seconds as a Go duration in milliseconds: exact for anything a person types."""
    return f"{round(seconds * 1000)}ms"


def _flag_error(exc: model.SpecError, targets: Sequence[types.Target]) -> str:
    """The schema's error in the words of the command line."""
    found = re.search(r"\.targets\[(\d+)\]\.(\w+)$", exc.path)
    if found is not None and int(found[1]) < len(targets):
        target = targets[int(found[1])]
        return f"--target {target.host}:{target.port}: {exc.message}"
    field = exc.path.rsplit(".", 1)[-1]
    message = _FIELD_WORD.sub(lambda m: _FLAG_OF_FIELD[m.group(1)], exc.message)
    message = re.sub(r"(\d+)ms\b", lambda m: f"{int(m.group(1)) / 1000:g}s", message)
    if message.startswith("--"):
        return message
    return f"{_FLAG_OF_FIELD.get(field, exc.path)}: {message}"


def check_numbers(*, attempts: int, spread: float, connect_timeout: float, timeout: float) -> None:
    """Validates the probe's numbers before any API call (the default target needs one)."""
    stand_in = types.Target(name="stand-in", host="localhost", port=1)
    probe_spec(
        targets=[stand_in],
        attempts=attempts,
        spread=spread,
        connect_timeout=connect_timeout,
        timeout=timeout,
    )


def seconds(text: str, *, flag: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{flag} {text!r}: expected a number of seconds greater than 0")
    return value


def whole(text: str, *, flag: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{flag} {text!r}: expected a whole number of at least 1")
    return value


def rate(text: str, *, flag: str) -> float:
    """A failure rate: a fraction from 0 to 1 (``0.2``) or a percentage (``20%``)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%")) / (100 if percent else 1)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise UsageError(
            f"{flag} {text!r}: expected a failure rate from 0 up to (not including) 1,"
            " or a percentage such as 20%"
        )
    return value


def output(text: str) -> str:
    if text not in OUTPUTS:
        raise UsageError(f"-o/--output {text!r}: expected one of {', '.join(OUTPUTS)}")
    return text


def workload(text: str) -> tuple[hostnetwork.Kind, str]:
    """``KIND/NAME`` (``deployment/web``, ``sts/db``, ``ds/agent``) as kind and name."""
    kind_text, slash, name = text.partition("/")
    kind = _KIND_OF_WORD.get(kind_text.strip().lower())
    allowed = "deployment/NAME, statefulset/NAME or daemonset/NAME (deploy, sts, ds)"
    if not slash or kind is None:
        raise UsageError(f"KIND/NAME {text!r}: expected {allowed}")
    if len(name) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
        raise UsageError(f"KIND/NAME {text!r}: {name!r} is not a valid object name")
    return kind, name
