"""Pure: whether a run that looks bad, but is not failing yet, should measure longer.

A 30 s window of the seed's kind of fault (failing blocks of 5-8 s, 30 % of the time)
sometimes holds a single block: 10-12 failures of 60, not more than the 20 % threshold,
although nothing else explains them. Measuring every run longer would cost every pod the
longer window; measuring longer only when the pod looks bad costs almost nothing. So a run
is measured in windows of ``spread`` (all namespaces together, the slots numbered on), and
after each window the pooled counts are judged:

- some target already fails by the operator's rule (`runrule.failing` on the counts the
  operator will judge): stop, the run fails;
- no target is *suspect* (`types.TargetVerdict.suspect`: the target pod's failures are
  clearly above background loss while the fresh pod and the node do not fail on it):
  stop, nothing needs explaining;
- no suspect target could still turn out failing: the 95 % interval of its rate, over
  the samples its failures are worth (`runrule.plausibly_above`: one 5 s block is worth
  few, scattered failures many), stays at or below the threshold: stop, more of the
  same would not change the verdict (a steady 5 % loss needs no 90 s to say so);
- otherwise measure another window, up to the bound (``--windows``).

The operator judges the pooled counts with the very same rule, so a longer window can only
turn a run the first window could not decide into a decided one. Noise rarely starts an
extension (a healthy path's failures are seldom significant), and a shared fault never does
(the fresh pod or the node fails too).
"""

from __future__ import annotations

from collections.abc import Sequence

from nethealth.probe import classes, runrule, types


def longer(*, verdicts: Sequence[types.TargetVerdict], failure_rate: float) -> bool:
    """Measure another window (see the module docstring)."""
    judged = [v for v in verdicts if v.klass in classes.JUDGED]
    if any(
        runrule.failing(attempts=v.attempts, failures=v.failures, failure_rate=failure_rate)
        for v in judged
    ):
        return False
    return any(
        v.suspect
        and runrule.plausibly_above(
            attempts=v.attempts, failures=v.failures, blocks=v.blocks, failure_rate=failure_rate
        )
        for v in verdicts
    )
