"""Pure: hints that explain *why* connects fail, ranked most likely first.

Each rule looks at the evidence and returns scored hints, and the scores rank them
(`ranking`). Scores are coarse on purpose: 90s for a cause seen directly (a rule that
refuses the target's flow, a poisoned cached route on the CPUs that fail, whatever the
kernel's version says), 60-80 for strong circumstantial evidence, below 50 for context.

Modules:
  context     what a rule may look at, and the shape of a rule
  ranking     the rules in tie-breaking order, and the ranking itself
  kernelbug   the kernel's broadcast route cache regression, seen or suspected: the score
  kernelfacts what that hint says: its evidence (poisoned answers, failures per CPU), advice
  routecache  reading cached route lookups: poisoned CPUs, real broadcast entries
  refusals    rules and routes in the pod that refuse traffic, or that none was seen
  paths       the way out: default route, gateway neighbour, errors from the path
  timing      failures that follow the CPU or come in bursts
  senders     broadcast and multicast senders that poison the cache
  dns         names the pod cannot resolve with its own resolver configuration
  words       how families, tables and CPU lists are written; which addresses a route covers
"""
