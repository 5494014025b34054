"""Field specs: one description of a field serves both the API server and the operator.

A NetHealthCheck is validated twice: by the API server, through the CRD's OpenAPI schema
and its CEL rules, and by the operator, when it turns a raw body into typed values (it
also reads examples and objects stored before a CRD upgrade). Writing the rules twice lets
them drift, so each field is described once, by a node below, and the node does both:
``openapi()`` renders the CRD schema, ``load()`` checks a raw value and returns the typed
one, with the same defaults, bounds and rule messages; ``dump()`` goes back to JSON (for
status patches).

Every rule is written once as CEL (for the API server) and once as a Python predicate over
the loaded value, next to each other and sharing one message. The e2e tests feed the same
table of invalid objects to both.

The nodes: ``scalars`` (strings, numbers, flags, choices, times, quantities),
``durations``, ``structures`` (lists, maps, objects); ``base`` has what they share.

Messages follow the API server's shape: the error's path names the field
(``spec.probe.interval``), the message says what is allowed.
"""

from nethealth.schema.base import Json, JsonObject, Node, Rule, SpecError, camel, matches
from nethealth.schema.durations import DURATION_PATTERN, Duration, format_duration, parse_duration
from nethealth.schema.scalars import (
    QUANTITY_PATTERN,
    Bool,
    Choice,
    Int,
    Number,
    Quantity,
    Str,
    Timestamp,
)
from nethealth.schema.structures import List, Map, Obj, Prop, Unchecked

__all__ = [
    "DURATION_PATTERN",
    "QUANTITY_PATTERN",
    "Bool",
    "Choice",
    "Duration",
    "Int",
    "Json",
    "JsonObject",
    "List",
    "Map",
    "Node",
    "Number",
    "Obj",
    "Prop",
    "Quantity",
    "Rule",
    "SpecError",
    "Str",
    "Timestamp",
    "Unchecked",
    "camel",
    "format_duration",
    "matches",
    "parse_duration",
]
