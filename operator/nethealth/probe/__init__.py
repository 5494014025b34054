"""The probe: runs in a Job on the target pod's node and measures its network from inside.

Layers (each module one concern):
  types      values passed between the layers below (this is the contract)
  podnetns   find a pod's network namespace from its UID by scanning /proc/*/cgroup
  netns      run a function inside another network namespace without leaking into the caller
  measure    non-blocking connect() attempts spread over a window, pinned round-robin to CPUs
  evidence   netlink (pyroute2) and /proc facts gathered inside the target namespace, from:
    lookups      plain, flow-key and FIB-match route lookups of every endpoint on every CPU
    rtnetlink    workaround: RTM_GETROUTE with the TCP flow key, which pyroute2 0.9.7 cannot send
    policyrules  policy routing rules other than the defaults, as `ip rule` prints them
    tables       links, addresses, default and refusing routes, the gateways' neighbours
    netlinknames the kernel's route types, rule actions and neighbour states, named like `ip`
    counters     SNMP counters (IpOutNoRoutes) and their deltas over the window
    procnet      multicast memberships and UDP sockets (broadcast senders) with their owners
    procfiles    reading /proc text files
  kernels    data table of kernel releases known to carry networking regressions
  stats      pure: the failure test, per-CPU tallies, time blocks, runs test for bursts
  classes    pure: which namespaces fail -> the class (Healthy, PodNamespace, ...) and why
  hints/     pure: rules that read the evidence and score why connects fail, and their ranking
  classify   pure: measurements + evidence -> class and ranked hints (composes the two above)
  report     pure: result -> versioned JSON (compact form fits the termination message) and text
  sampling   evidence taken a few times during the window, so a toggling fault is seen
  orchestrate  argument checks, namespace lookup, measuring and evidence, the document
  command    the `nethealth probe` CLI: argparse, output, exit codes
"""
