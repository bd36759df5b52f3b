"""The ``worldmodel`` command line: a thin wrapper over the library functions."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worldmodel")
def main() -> None:
    """Learn world models of programs and use them to find programs from examples."""
