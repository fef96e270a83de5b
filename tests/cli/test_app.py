"""The top-level command: version, help, and how errors reach the user."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

import embedlab
from embedlab.cli import app
from embedlab.cli._app import _ErrorHandlingGroup
from embedlab.exceptions import DataError

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"embedlab {embedlab.__version__}"


def test_help_lists_data_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "data" in result.stdout
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0 and "info" in result.stdout


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "embedlab", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("embedlab ")


def _probe_app() -> typer.Typer:
    probe = typer.Typer(cls=_ErrorHandlingGroup)

    @probe.command()
    def user_mistake() -> None:
        raise DataError(
            "ratings.csv: column 'rating' has 2 NaN values (first at row 7);\n drop or fill those rows"
        )

    @probe.command()
    def bug() -> None:
        raise ZeroDivisionError("division by zero")

    return probe


def test_user_error_is_one_line_exit_2() -> None:
    result = runner.invoke(_probe_app(), ["user-mistake"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: ratings.csv: column 'rating' has 2 NaN values")
    assert "Traceback" not in result.output


def test_internal_error_exit_1_without_traceback(monkeypatch) -> None:
    monkeypatch.delenv("EMBEDLAB_DEBUG", raising=False)
    result = runner.invoke(_probe_app(), ["bug"])
    assert result.exit_code == 1
    assert result.stderr.startswith("internal error: ZeroDivisionError: division by zero")
    assert "EMBEDLAB_DEBUG=1" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_is_a_user_error(tmp_path) -> None:
    result = runner.invoke(app, ["data", "info", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
