"""Parsing raw IDs typed as text (a command line, a URL, a form) into a vocabulary's type."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from embedlab.data._vocab import IDKind

__all__ = ["INT64_MAX", "INT64_MIN", "parse_id"]

#: The range of integer IDs (a vocabulary of ints stores them as int64).
INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)

# ASCII digits only: ``str.isdigit`` and ``int()`` also accept "²", "①", "١٢" or "1_0".
_PLAIN_INT = re.compile(r"[+-]?[0-9]+")
# int64 needs at most 19 digits (after leading zeros)
_MAX_DIGITS = 19


def parse_id(text: Any, kind: IDKind) -> int | str:
    """The raw ID that ``text`` spells, in the type of a vocabulary of ``kind``.

    For ``kind="int"``, text that is a plain integer, ASCII digits with an optional
    sign and surrounding whitespace (``"196"``, ``" -7 "``, ``"+5"``, ``"007"``), and
    within int64, becomes that ``int``; any other text (a title, ``"²"``, ``"①"``,
    ``"--5"``, ``"1_000"``, a number past int64) comes back unchanged, as a ``str``,
    for the caller to treat as a label or an unknown ID. An ``int`` within int64
    comes back as is; one outside comes back as its decimal text.

    For ``kind="str"``, text comes back unchanged and an ``int`` as its decimal text.

    Args:
        text: What the user typed (``str``), or an integer (a JSON number; Python or
            NumPy ``int``).
        kind: The vocabulary's ID kind, ``"int"`` or ``"str"`` (``Vocabulary.kind``).

    Returns:
        An ``int`` (only for ``kind="int"``) or a ``str``.

    Raises:
        TypeError: If ``text`` is neither a ``str`` nor an ``int`` (a ``bool`` is not
            an ID either).
        ValueError: If ``kind`` is neither ``"int"`` nor ``"str"``.

    Example:
        >>> parse_id(" 196 ", "int"), parse_id("²", "int"), parse_id(42, "str")
        (196, '²', '42')
    """
    if isinstance(text, str):  # the common case first: a path segment, a CLI argument
        if kind == "int":
            stripped = text.strip()
            if _PLAIN_INT.fullmatch(stripped) is not None:
                digits = stripped.lstrip("+-").lstrip("0")
                # int64 has at most 19 digits; this also keeps int() clear of its
                # 4300-digit limit
                if len(digits) <= _MAX_DIGITS:
                    value = int(digits or "0")
                    value = -value if stripped[0] == "-" else value
                    if INT64_MIN <= value <= INT64_MAX:
                        return value
            return str(text)
        if kind == "str":
            return str(text)
    elif isinstance(text, (int, np.integer)) and not isinstance(text, (bool, np.bool_)):
        if kind in ("int", "str"):
            value = int(text)
            return value if kind == "int" and INT64_MIN <= value <= INT64_MAX else str(value)
    else:
        raise TypeError(f"an ID is a str or an int, got {type(text).__name__} {text!r}")
    raise ValueError(f"kind={kind!r}: expected 'int' or 'str'")
