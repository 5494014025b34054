"""Inside the VM, in one network namespace: what Home Assistant's discovery does to it.

    ssdp.py broadcast --cpu N [--invalidate]   IGMP join+leave of 239.255.255.250 (SSDP's
                                               group; each invalidates the namespace's route
                                               cache), then one M-SEARCH to
                                               255.255.255.255:1900, pinned to CPU N
    ssdp.py invalidate                         only the join+leave
    ssdp.py loop --cpu N --period S            forever: join, M-SEARCH, S seconds, leave,
                                               S seconds (an SSDP-like sender)
    ssdp.py connects --count K --port P ADDR   K non-blocking TCP connects per CPU; prints
                                               {"cpu": {"ok": n, "ENETUNREACH": m, ...}}

The broadcast poisons a CPU only when it is the first route lookup on that CPU after an
invalidation, so `broadcast --invalidate` does both in one process, microseconds apart.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import socket
import sys
import time

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
M_SEARCH = (
    b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    b"MX: 1\r\nST: ssdp:all\r\n\r\n"
)


def join_and_leave() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        membership = socket.inet_aton(SSDP_GROUP) + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, membership)


def m_search() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(M_SEARCH, ("255.255.255.255", SSDP_PORT))


def loop(*, cpu: int, period: float) -> None:
    os.sched_setaffinity(0, {cpu})
    membership = socket.inet_aton(SSDP_GROUP) + socket.inet_aton("0.0.0.0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while True:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            m_search()
            print(f"poisoned {time.monotonic():.3f}", flush=True)
            time.sleep(period)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, membership)
            print(f"cleared {time.monotonic():.3f}", flush=True)
            time.sleep(period)


def connects(*, address: str, port: int, count: int) -> dict[int, dict[str, int]]:
    results: dict[int, dict[str, int]] = {}
    for cpu in sorted(os.sched_getaffinity(0)):
        os.sched_setaffinity(0, {cpu})
        tally = results.setdefault(cpu, {})
        for _ in range(count):
            outcome = _connect(address=address, port=port)
            tally[outcome] = tally.get(outcome, 0) + 1
    return results


def _connect(*, address: str, port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setblocking(False)
        code = s.connect_ex((address, port))
        if code == errno.EINPROGRESS:
            _, writable, _ = select.select([], [s], [], 2.0)
            code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if writable else errno.ETIMEDOUT
        return "ok" if code == 0 else errno.errorcode.get(code, str(code))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ssdp.py")
    sub = parser.add_subparsers(dest="mode", required=True)
    once = sub.add_parser("broadcast")
    once.add_argument("--cpu", type=int, required=True)
    once.add_argument("--invalidate", action="store_true")
    sub.add_parser("invalidate")
    looping = sub.add_parser("loop")
    looping.add_argument("--cpu", type=int, required=True)
    looping.add_argument("--period", type=float, required=True)
    check = sub.add_parser("connects")
    check.add_argument("--count", type=int, required=True)
    check.add_argument("--port", type=int, required=True)
    check.add_argument("address")
    args = parser.parse_args(argv)
    if args.mode == "broadcast":
        os.sched_setaffinity(0, {args.cpu})
        if args.invalidate:
            join_and_leave()
        m_search()
    elif args.mode == "invalidate":
        join_and_leave()
    elif args.mode == "loop":
        loop(cpu=args.cpu, period=args.period)
    else:
        print(json.dumps(connects(address=args.address, port=args.port, count=args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
