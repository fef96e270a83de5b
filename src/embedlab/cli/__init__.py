"""Command line interface (``embedlab``)."""

from embedlab.cli._app import app


def main() -> None:
    """Entry point of the ``embedlab`` console script."""
    app(prog_name="embedlab")


__all__ = ["app", "main"]
