"""What the probe connects to: TCP targets, and names to resolve with the pod's resolv.conf.

Targets load as the probe's own ``types.Target`` values, so the operator hands them to
the probe as they are.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from nethealth import schema
from nethealth.probe import types

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def _is_ip_or_dns_name(value: str) -> bool:
    if schema.matches(DNS_NAME, value) and len(value) <= 253:
        return True
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # CEL's isIP() takes neither zones (fe80::1%eth0) nor IPv4-mapped IPv6 addresses.
    if isinstance(address, ipaddress.IPv6Address):
        return address.scope_id is None and address.ipv4_mapped is None
    return True


TARGET = schema.Obj(
    cls=types.Target,
    description="A TCP destination the selected pods should reach.",
    props={
        "name": schema.Prop(
            required=True,
            node=schema.Str(
                description="Names the target in status, Events and metrics.",
                max_length=63,
                pattern=DNS_LABEL,
                hint="a DNS label (lowercase letters, digits and '-', at most 63)",
            ),
        ),
        "host": schema.Prop(
            required=True,
            node=schema.Str(
                description="An IPv4/IPv6 address or a DNS name, resolved inside the pod.",
                max_length=253,
                min_length=1,
                rules=(
                    schema.Rule(
                        cel="isIP(self) || !format.dns1123Subdomain().validate(self).hasValue()",
                        message="{field} must be an IP address or a lowercase DNS name",
                        check=_is_ip_or_dns_name,
                    ),
                ),
            ),
        ),
        "port": schema.Prop(required=True, node=schema.Int(minimum=1, maximum=65535)),
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DnsCheck:
    enabled: bool
    names: tuple[str, ...]


DNS_CHECK = schema.Obj(
    cls=DnsCheck,
    description="Also resolve these names with the pod's own resolv.conf.",
    props={
        "enabled": schema.Prop(node=schema.Bool(default=True, description="Run the DNS check.")),
        "names": schema.Prop(
            required=True,
            node=schema.List(
                min_items=1,
                max_items=8,
                list_type="set",
                item=schema.Str(
                    max_length=254,
                    pattern=DNS_NAME[:-1] + r"\.?$",
                    hint="a DNS name such as kubernetes.default.svc (a trailing dot skips "
                    "the search path)",
                ),
            ),
        ),
    },
)
