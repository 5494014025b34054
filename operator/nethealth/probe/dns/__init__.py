"""DNS inside the pod: resolve names the way the pod's applications do, with controls.

An application resolves with its own ``/etc/resolv.conf`` (the kubelet writes it from the
pod's ``dnsPolicy`` and ``dnsConfig``: nameservers, search list, ``ndots``), from inside its
network namespace. The probe does the same: it reads the pod's file through one of its
processes (``/proc/<pid>/root/etc/resolv.conf``) and resolves each name in the pod's
namespace, both address families, following the search list as glibc does. The same
resolution from a fresh pod and from the node (same configuration), and from the probe's
own resolver (its own configuration), tell a pod that cannot reach its nameserver from a
nameserver that is down, and a pod whose configuration points at the wrong server.

Modules:
  resolvconf  the file: nameservers, search list, ndots, timeout, attempts; which names to try
  wire        DNS messages: a query, and what an answer says (rcode, addresses)
  lookup      one name resolved from the current namespace: what happened, with every try
  verdicts    where a resolution fails, from the four resolutions of one name
"""
