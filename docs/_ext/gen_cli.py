"""Write docs/guide/cli.md from the ``embedlab`` command tree (what ``--help`` prints).

Run ``python docs/_ext/gen_cli.py`` after changing a command; ``tests/test_docs.py`` fails
when the page is out of date.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path, PurePath
from typing import Any

import typer

from embedlab.cli import app

PAGE = Path(__file__).resolve().parents[1] / "guide" / "cli.md"

HEADER = """# Command line

Every job has a command: `embedlab COMMAND --help` prints its options and an example. This page
is generated from the commands themselves (`python docs/_ext/gen_cli.py`), so it lists exactly
what `--help` does.

## Exit codes

| code | meaning |
|---|---|
| 0 | success |
| 2 | a user error: a missing file, a bad option, an unknown ID, a failed download. One line on stderr, `error: ...`, never a traceback |
| 1 | an internal error (a bug in embedlab): one line on stderr; `EMBEDLAB_DEBUG=1` prints the traceback |
| 130 | interrupted with Ctrl+C |

Options shared with the Python API have the same names (`--embedding-dim` is `embedding_dim`,
`--l2-user` is `l2_user`, `--random-state` is `random_state`). Commands whose output is data take
`--json`.
"""


def _clean(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _type_name(param: Any) -> str:
    annotation = param.type_descriptor.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    return (
        getattr(annotation, "__name__", str(annotation))
        if isinstance(annotation, type)
        else str(annotation)
    )


def _param_row(param: Any) -> str:
    names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
    if isinstance(param, typer.core.TyperArgument):
        names = f"`{param.name.upper()}`"
    kind = "flag" if getattr(param, "is_flag", False) else _type_name(param)
    default = param.default
    shown = ""
    if param.required:
        shown = "required"
    elif default not in (None, False, (), []) and not callable(default):
        shown = f"`{default}`"
    return f"| {names} | {kind} | {shown} | {_clean(getattr(param, 'help', None))} |"


def _command(cmd: Any, path: list[str], out: list[str]) -> None:
    name = " ".join(path)
    level = "#" * min(2 + len(path) - 1, 4)
    out.append(f"{level} `{name}`\n")
    help_text = (cmd.help or "").strip()
    if help_text:
        lines = []
        for line in help_text.replace("\b\n", "").splitlines():
            if line.startswith("Example: "):
                line = f"Example:\n\n```sh\n{line.removeprefix('Example: ')}\n```"
            lines.append(line)
        out.append("\n".join(lines) + "\n")
    sub = getattr(cmd, "commands", None)
    params = [p for p in cmd.params if p.name not in ("help",) and not getattr(p, "hidden", False)]
    if params:
        out.append("| argument / option | type | default | meaning |\n|---|---|---|---|")
        out.extend(_param_row(p) for p in params)
        out.append("")
    if sub:
        for child in sub:
            _command(sub[child], [*path, child], out)


def render() -> str:
    """The page's Markdown."""
    from embedlab.cli._settings_options import options_markdown

    root = typer.main.get_command(app)
    out = [HEADER]
    for child in root.commands:
        _command(root.commands[child], ["embedlab", child], out)
        if child == "train":  # the model options, generated from the settings
            out.append(options_markdown())
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
