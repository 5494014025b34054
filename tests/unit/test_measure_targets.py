"""Targets on the command line: `[NAME=]HOST:PORT`, IPv6 in brackets."""

from __future__ import annotations

import re

import pytest

from nethealth.probe import measure, types


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.51.100.7:80", types.Target(name="198.51.100.7:80", host="198.51.100.7", port=80)),
        ("web=198.51.100.7:8080", types.Target(name="web", host="198.51.100.7", port=8080)),
        ("[2001:db8::7]:443", types.Target(name="[2001:db8::7]:443", host="2001:db8::7", port=443)),
        ("v6=[2001:db8::7]:443", types.Target(name="v6", host="2001:db8::7", port=443)),
        ("kubernetes.default.svc:443",
         types.Target(name="kubernetes.default.svc:443", host="kubernetes.default.svc", port=443)),
    ],
)  # fmt: skip
def test_targets_parse_with_an_optional_name(text, expected):
    assert measure.parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("198.51.100.7", "expected [NAME=]HOST:PORT"),
        ("198.51.100.7:", "port must be a number"),
        ("198.51.100.7:http", "port must be a number"),
        ("198.51.100.7:0", "port must be a number from 1 to 65535"),
        ("198.51.100.7:65536", "port must be a number from 1 to 65535"),
        (":80", "missing or malformed host"),
        ("2001:db8::7:443", "IPv6 addresses in brackets"),
        ("[2001:db8::7]443", "expected [IPv6]:PORT"),
        ("[not-v6]:443", "is not an IPv6 address"),
        ("a b:80", "missing or malformed host"),
    ],
)
def test_unparsable_targets_are_rejected_naming_the_flag_and_the_form(text, complaint):
    with pytest.raises(
        ValueError, match=f"{re.escape(f'--target {text!r}')}.*{re.escape(complaint)}"
    ):
        measure.parse_target(text)


def test_attempts_are_spread_evenly_over_the_window():
    plan = measure.Plan(endpoints=(), attempts=60, spread=30.0, timeout=3.0, start_at=0.0)
    assert plan.interval == 0.5
