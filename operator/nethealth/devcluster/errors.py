"""What goes wrong with a dev node, as exceptions the CLI and tests report as they are."""

from __future__ import annotations


class ClusterError(Exception):
    """The node could not be started, stopped or found; the message says why."""


class Busy(ClusterError):
    """Another harness holds the run directory's lock."""
