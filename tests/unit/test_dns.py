"""DNS as the pod resolves: its resolv.conf, glibc's order of names, the wire, the verdict."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from nethealth.probe import classify, resolving, types
from nethealth.probe.dns import hostsfile, lookup, resolvconf, verdicts, wire

Role = types.Role
Class = types.ProbeClass
KUBELET_RESOLV_CONF = """\
search apps.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
"""


def test_a_kubelet_written_resolv_conf_reads_as_the_resolver_reads_it():
    conf = resolvconf.parse(KUBELET_RESOLV_CONF)
    assert conf.nameservers == ("10.96.0.10",)
    assert conf.search == ("apps.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert (conf.ndots, conf.timeout, conf.attempts) == (5, 5.0, 2)


def test_resolv_conf_keeps_three_nameservers_the_last_search_and_ignores_the_rest():
    conf = resolvconf.parse(
        "# comment\nnameserver 198.51.100.53\nnameserver 2001:db8::53\nnameserver x\n"
        "nameserver 198.51.100.54\nnameserver 198.51.100.55\ndomain a.example\n"
        "search b.example c.example ; comment\noptions timeout:1 attempts:9 rotate\n"
    )
    assert conf.nameservers == ("198.51.100.53", "2001:db8::53", "198.51.100.54")
    assert conf.search == ("b.example", "c.example")
    assert (conf.timeout, conf.attempts) == (1.0, 5)


def test_no_nameserver_means_the_local_host():
    assert resolvconf.parse("search example.org\n").nameservers == ("127.0.0.1",)


@pytest.mark.parametrize(
    ("name", "tried"),
    [
        # fewer dots than ndots: the search list first, the name as given last
        ("web", ("web.apps.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local",
                 "web")),
        ("api.example.org", ("api.example.org.apps.svc.cluster.local",
                             "api.example.org.svc.cluster.local",
                             "api.example.org.cluster.local", "api.example.org")),
        # a trailing dot: exactly that name
        ("api.example.org.", ("api.example.org",)),
    ],
)  # fmt: skip
def test_names_are_tried_in_glibcs_order(name, tried):
    assert resolvconf.candidates(name, resolvconf.parse(KUBELET_RESOLV_CONF)) == tried


def test_with_enough_dots_the_name_as_given_comes_first():
    conf = resolvconf.parse("search cluster.local\noptions ndots:1\n")
    assert resolvconf.candidates("api.example.org", conf) == (
        "api.example.org",
        "api.example.org.cluster.local",
    )


def _response(query: bytes, *, rcode: int, records: list[tuple[int, bytes]]) -> bytes:
    ident = struct.unpack_from("!H", query)[0]
    question = query[12:]
    header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(records), 0, 0)
    answers = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 30, len(data)) + data
        for rtype, data in records
    )
    return header + question + answers


def test_an_answer_gives_the_addresses_of_the_asked_type_through_a_cname():
    query = wire.query(ident=7, name="web.example", qtype=wire.TYPE_AAAA)
    cname = (5, b"\x03www\x07example\x00")
    v6 = (wire.TYPE_AAAA, bytes.fromhex("20010db8000200000000000000000010"))
    found = wire.answer(_response(query, rcode=0, records=[cname, v6]), qtype=wire.TYPE_AAAA)
    assert (found.ident, found.rcode, found.addresses) == (7, "NOERROR", ("2001:db8:2::10",))


@pytest.mark.parametrize(("rcode", "name"), [(2, "SERVFAIL"), (3, "NXDOMAIN"), (5, "REFUSED")])
def test_an_answer_says_how_it_failed(rcode, name):
    query = wire.query(ident=1, name="web.example", qtype=wire.TYPE_A)
    assert wire.answer(_response(query, rcode=rcode, records=[]), qtype=wire.TYPE_A).rcode == name


def test_garbage_is_not_an_answer():
    with pytest.raises(wire.MalformedError):
        wire.answer(b"\x00\x01", qtype=wire.TYPE_A)


def test_a_literal_target_needs_no_resolver():
    assert resolving.literal("2001:db8::7")
    assert not resolving.literal("web.example")


def _resolution(status: str, *addresses: str) -> types.Resolution:
    return types.Resolution(name="web.test", status=status, addresses=addresses,
                            server="198.51.100.53", detail=f"{status} detail")  # fmt: skip


OK = _resolution("ok", "203.0.113.10", "2001:db8:2::10")
TIMEOUT = _resolution("timeout")


@pytest.mark.parametrize(
    ("pod", "control", "host", "expected"),
    [
        (OK, OK, OK, Class.HEALTHY),
        (TIMEOUT, OK, OK, Class.FILTERED),
        (_resolution("refused-locally"), OK, OK, Class.POD_NAMESPACE),
        (TIMEOUT, TIMEOUT, OK, Class.NODE_NETWORK),
        (TIMEOUT, TIMEOUT, TIMEOUT, Class.UPSTREAM),
    ],
    ids=["resolves", "only-the-pod", "refused-in-the-pod", "pods-on-the-node", "everywhere"],
)
def test_a_name_is_placed_like_a_connect(pod, control, host, expected):
    verdict = verdicts.judge(
        name="web.test",
        target="web",
        by_role={Role.TARGET: pod, Role.CONTROL: control, Role.HOST: host},
        own=OK,
        servers=("198.51.100.53",),
    )
    assert verdict.klass == expected


def test_a_dead_nameserver_in_the_pods_resolv_conf_is_a_dns_hint_naming_it():
    # The pod's configuration fails from everywhere; the probe's own resolver answers.
    dead = verdicts.judge(
        name="web.test",
        target="web",
        by_role={Role.TARGET: TIMEOUT, Role.CONTROL: TIMEOUT, Role.HOST: TIMEOUT},
        own=dataclasses.replace(OK, server="203.0.113.53"),
        servers=("198.51.100.53",),
    )
    assert not dead.unresolvable
    assert "the pod's resolver configuration does not find it" in dead.reason
    unmeasured = types.TargetVerdict(
        target="web", klass=Class.INCONCLUSIVE, reason="web: not measured", attempts=0,
        failures=0, blocks=0,
    )  # fmt: skip
    verdict = classify.classify(
        measurements=[types.Measurement(role=Role.TARGET, netns="pid:1")],
        evidence=None,
        kernel=None,
        unmeasured=[unmeasured],
        dns=[dead],
    )
    top = verdict.hints[0]
    assert top.code == "DnsTimeout"
    assert "nameservers 198.51.100.53" in top.evidence
    assert "the probe's own resolver (nameserver 203.0.113.53): 203.0.113.10" in top.evidence
    assert verdict.targets == (unmeasured,)  # the target, not the pod, is Inconclusive


def test_a_name_nobody_resolves_is_the_checks_to_fix_not_the_pods():
    gone = _resolution("nxdomain")
    verdict = verdicts.judge(
        name="web.test",
        target="web",
        by_role={Role.TARGET: gone, Role.CONTROL: gone, Role.HOST: gone},
        own=gone,
        servers=("198.51.100.53",),
    )
    assert verdict.unresolvable
    assert verdict.klass == Class.INCONCLUSIVE


def test_a_hosts_file_answers_before_any_nameserver():
    hosts = hostsfile.parse(
        "127.0.0.1 localhost\n::1 localhost ip6-localhost\n# comment\n"
        "198.51.100.10 web-0.web.apps.svc.cluster.local web-0\nnot-an-address x\n"
    )
    assert hosts["localhost"] == ("127.0.0.1", "::1")
    assert hosts["web-0"] == ("198.51.100.10",)
    assert "x" not in hosts
    conf = dataclasses.asdict(resolvconf.parse("nameserver 198.18.0.53\n"))
    (found,) = lookup.resolve_all(["web-0"], conf, {k: list(v) for k, v in hosts.items()})
    assert (found["status"], found["server"]) == ("ok", "/etc/hosts")
