"""Griffe extension for the docs build: read embedlab's docstrings as they are written.

embedlab's docstrings are Google style with three habits griffe's parser does not know:

* ``Example:`` (singular) heads doctest examples; griffe reads only ``Examples:`` as code,
  and renders ``Example:`` as an admonition whose ``>>>`` lines become Markdown text.
* ``a, b: description`` documents several parameters at once in ``Args:``.
* Sphinx roles (``:class:`~embedlab.KeyedEmbeddings```) for cross-references.

This extension rewrites each docstring's text before griffe parses it; the source is untouched.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$")
_SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")
_MULTI = re.compile(r"^(\s+)(\w+(?:,\s*\w+)+):\s*(.*)$")
_ROLE = re.compile(r":(?:class|meth|func|data|attr|mod|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    if match.group(1):
        target = target.rsplit(".", 1)[-1]
    return f"``{target}``"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rewrite(text: str) -> str:
    """The docstring ``text`` with the three habits above turned into what griffe reads."""
    lines = [_EXAMPLE.sub(r"\1Examples:", line) for line in text.splitlines()]
    out: list[str] = []
    in_args = False
    i = 0
    while i < len(lines):
        line = lines[i]
        section = _SECTION.match(line)
        if section:
            in_args = section.group(2) in ("Args", "Arguments", "Parameters")
        multi = _MULTI.match(line) if in_args else None
        if multi is None:
            out.append(line)
            i += 1
            continue
        indent, names, desc = multi.groups()
        rest = []
        i += 1
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > len(indent):
            rest.append(lines[i])
            i += 1
        for name in re.split(r",\s*", names):
            out.append(f"{indent}{name}: {desc}")
            out.extend(rest)
    return _ROLE.sub(_role, "\n".join(out))


class EmbedlabDocstrings(Extension):
    """Rewrite every docstring with :func:`rewrite` before it is parsed."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and docstring.value:
            docstring.value = rewrite(docstring.value)
