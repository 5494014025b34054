"""nethealth-operator: finds pods whose networking is broken in ways the cluster cannot see."""

__version__ = "0.1.0"
