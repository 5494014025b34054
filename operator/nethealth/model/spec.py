"""The whole ``spec``: its parts, and the rules that compare fields across them."""

from __future__ import annotations

import dataclasses

from nethealth import schema
from nethealth.model.probing import PROBE, THRESHOLD, Probe, Threshold
from nethealth.model.remediation import REMEDIATION, Remediation
from nethealth.model.selectors import LABEL_SELECTOR, LabelSelector
from nethealth.model.targets import DNS_CHECK, TARGET, DnsCheck
from nethealth.probe import types


@dataclasses.dataclass(frozen=True, kw_only=True)
class Spec:
    selector: LabelSelector
    namespace_selector: LabelSelector | None
    targets: tuple[types.Target, ...]
    dns: DnsCheck | None
    probe: Probe
    threshold: Threshold
    remediation: Remediation


def _selector_given(spec: Spec) -> bool:
    return not spec.selector.empty


SPEC = schema.Obj(
    cls=Spec,
    description="Which pods to check, against what, how often, and what to do.",
    props={
        "selector": schema.Prop(
            required=True,
            node=dataclasses.replace(
                LABEL_SELECTOR,
                description="The pods to check, in the check's namespace (must not be empty).",
            ),
        ),
        "namespace_selector": schema.Prop(
            node=dataclasses.replace(
                LABEL_SELECTOR,
                description="Check the pods matching selector in every namespace whose labels "
                "match this; honoured only for checks in the operator's own namespace.",
            )
        ),
        "targets": schema.Prop(
            required=True,
            node=schema.List(
                description="TCP destinations to connect() to from inside each selected pod.",
                item=TARGET,
                min_items=1,
                max_items=16,
                list_type="map",
                map_keys=("name",),
                rules=(
                    schema.Rule(
                        cel="self.all(t, self.exists_one(u, u.name == t.name))",
                        message="{field} must have unique names",
                        check=lambda ts: len({t.name for t in ts}) == len(ts),
                    ),
                ),
            ),
        ),
        "dns": schema.Prop(node=DNS_CHECK),
        "probe": schema.Prop(node=PROBE),
        "threshold": schema.Prop(node=THRESHOLD),
        "remediation": schema.Prop(node=REMEDIATION),
    },
    rules=(
        schema.Rule(
            cel="(has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) ||"
            " (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",
            message="selector must have matchLabels or matchExpressions: an empty selector"
            " would select every pod in the namespace",
            field_path=".selector",
            check=_selector_given,
        ),
        schema.Rule(
            cel="self.threshold.minSamples <= self.probe.attempts * size(self.targets)",
            message="threshold.minSamples must be at most probe.attempts times the number of"
            " targets (the connects one run makes per pod)",
            field_path=".threshold.minSamples",
            check=lambda s: s.threshold.min_samples <= s.probe.attempts * len(s.targets),
        ),
    ),
)
