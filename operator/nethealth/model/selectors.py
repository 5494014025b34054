"""Label selectors (metav1.LabelSelector): which pods, and which namespaces, a check covers."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from nethealth import schema


class SelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"


def label_value() -> schema.Str:
    return schema.Str(
        max_length=63, pattern=LABEL_VALUE, hint="a label value (letters, digits, '-', '_', '.')"
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Requirement:
    key: str
    operator: SelectorOperator
    values: tuple[str, ...]


REQUIREMENT = schema.Obj(
    cls=Requirement,
    props={
        "key": schema.Prop(
            required=True,
            node=schema.Str(
                max_length=316,
                pattern=LABEL_KEY,
                hint="a label key such as app or example.com/tier",
            ),
        ),
        "operator": schema.Prop(required=True, node=schema.Choice(choices=SelectorOperator)),
        "values": schema.Prop(node=schema.List(item=label_value(), max_items=64), missing=()),
    },
    rules=(
        schema.Rule(
            cel="self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0)"
            " : (!has(self.values) || size(self.values) == 0)",
            message="values must be non-empty for In and NotIn, and empty for Exists and"
            " DoesNotExist",
            field_path=".values",
            check=lambda r: (
                bool(r.values) == (r.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN))
            ),
        ),
    ),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelSelector:
    """A metav1.LabelSelector."""

    match_labels: Mapping[str, str]
    match_expressions: tuple[Requirement, ...]

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def as_query(self) -> str:
        """The selector as the ``labelSelector`` query parameter of a list call."""
        terms = [f"{key}={value}" for key, value in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator is SelectorOperator.EXISTS:
                terms.append(req.key)
            elif req.operator is SelectorOperator.DOES_NOT_EXIST:
                terms.append(f"!{req.key}")
            else:
                verb = "in" if req.operator is SelectorOperator.IN else "notin"
                terms.append(f"{req.key} {verb} ({','.join(req.values)})")
        return ",".join(terms)


LABEL_SELECTOR = schema.Obj(
    cls=LabelSelector,
    description="A label selector: matchLabels and matchExpressions, as in a Deployment.",
    props={
        "match_labels": schema.Prop(
            missing={},
            node=schema.Map(
                value=label_value(),
                max_properties=64,
                rules=(
                    schema.Rule(
                        cel=f"self.all(k, k.size() <= 316 && k.matches(r'{LABEL_KEY}'))",
                        message="{field} keys must be label keys such as app or example.com/tier",
                        check=lambda labels: all(
                            len(k) <= 316 and schema.matches(LABEL_KEY, k) for k in labels
                        ),
                    ),
                ),
            ),
        ),
        "match_expressions": schema.Prop(
            missing=(), node=schema.List(item=REQUIREMENT, max_items=32)
        ),
    },
)
