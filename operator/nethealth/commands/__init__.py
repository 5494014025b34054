"""Subcommands of the `nethealth` console script that are not big enough for a package."""
