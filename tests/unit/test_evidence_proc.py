"""Reading /proc/net files (multicast groups, UDP sockets, counters) as the kernel prints them."""

from __future__ import annotations

import pathlib
import socket

from nethealth.probe import counters, procnet, types

# Captured on kernel 6.18 in a pod namespace with an SSDP socket (0.0.0.0:1900 joined to
# 239.255.255.250) and an mDNS socket on [::]:5353.
IGMP = (
    "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
    "1\tlo        :     1      V3\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
    "5\teth0      :     2      V3\n"
    "\t\t\t\tFAFFFFEF     1 0:00000000\t\t0\n"
    "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
)
IGMP6 = (
    "1    lo              ff020000000000000000000000000001     1 0000000C 0\n"
    "5    eth0            ff0200000000000000000000000000fb     1 00000004 0\n"
)
UDP = (
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
    "  timeout inode ref pointer drops\n"
    " 3986: 00000000:076C 00000000:0000 07 00000000:00000340 00:00000000 00000000     0"
    "        0 40424 2 00000000f76241d9 0\n"
    " 3987: 0A6433C6:D431 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
    "        0 40426 2 00000000f76241d9 0\n"
)
UDP6 = (
    "  sl  local_address                         remote_address                        st"
    " tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    " 7439: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07"
    " 00000000:00000000 00:00000000 00000000     0        0 40425 2 00000000f6893367 0\n"
)


def proc_net(tmp_path: pathlib.Path, **files: str) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


def test_igmp_groups_are_read_per_device_in_network_order(tmp_path):
    found = procnet.memberships(proc_net(tmp_path, igmp=IGMP, igmp6=IGMP6))
    assert types.Membership(family=socket.AF_INET, dev="eth0", group="239.255.255.250") in found
    assert types.Membership(family=socket.AF_INET, dev="lo", group="224.0.0.1") in found
    assert types.Membership(family=socket.AF_INET6, dev="eth0", group="ff02::fb") in found
    assert len(found) == 5


def test_udp_sockets_on_discovery_ports_and_wildcards_are_listed_first(tmp_path):
    found = procnet.udp_sockets(proc_net(tmp_path, udp=UDP, udp6=UDP6))
    listed = [(s.family, s.address, s.port, s.inode) for s in found]
    # 198.51.100.10:54321 is neither a discovery port nor a wildcard bind: left out.
    assert listed == [
        (socket.AF_INET, "0.0.0.0", 1900, 40424),
        (socket.AF_INET6, "::", 5353, 40425),
    ]


def test_missing_ipv6_udp_file_means_no_ipv6_sockets(tmp_path):
    found = procnet.udp_sockets(proc_net(tmp_path, udp=UDP))
    assert [s.port for s in found] == [1900]


def test_counter_deltas_keep_what_moved_and_always_out_no_routes():
    before = {"IpOutNoRoutes": 3, "Ip6OutNoRoutes": 0, "TcpActiveOpens": 10, "UdpInErrors": 1}
    after = {"IpOutNoRoutes": 10, "Ip6OutNoRoutes": 0, "TcpActiveOpens": 10, "UdpInErrors": 4}
    assert counters.deltas(before=before, after=after) == {
        "Ip6OutNoRoutes": 0,
        "IpOutNoRoutes": 7,
        "UdpInErrors": 3,
    }


def test_counters_of_this_namespace_are_named_like_nstat():
    found = counters.snapshot()
    assert "IpOutNoRoutes" in found
    assert "TcpActiveOpens" in found
    assert "Ip6OutNoRoutes" in found or not pathlib.Path("/proc/self/net/snmp6").exists()
