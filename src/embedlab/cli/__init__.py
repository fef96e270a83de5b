"""Command line interface (``embedlab``)."""

import warnings

from embedlab.cli._app import app, show_warning


def main() -> None:
    """Entry point of the ``embedlab`` console script."""
    warnings.showwarning = show_warning  # one "warning: ..." line, also outside a command
    app(prog_name="embedlab")


__all__ = ["app", "main"]
