"""The table options of every command that reads ratings, generated from ``load_ratings``.

Every keyword of :func:`embedlab.data.load_ratings` (after ``source``) becomes one
option of the same name with dashes (``rating_scale`` → ``--rating-scale``) in
``train``, ``evaluate``, ``experiment *``, ``data info`` and ``demo``: the list of
names comes from ``inspect.signature(load_ratings)``, so a new loader parameter without
help here fails at import (and in ``tests/cli/test_load_options.py``). Each option's
own default is ``None``, "the loader's default", so an option left out changes nothing.

:func:`load_table` is the one loader of the CLI: it parses the options' text into
Python values, calls :func:`embedlab.data.load` and rewrites the loader's suggestions
of Python arguments (``pass item='<column>'``, ``sep=``, ``encoding='latin-1'``) as the
flags (``--item COLUMN``, ``--sep``, ``--encoding latin-1``), in errors and warnings.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
import shlex
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._options import splice_options
from embedlab.data import load_ratings
from embedlab.exceptions import DataError, DataWarning

__all__ = [
    "FEEDBACK_KINDS",
    "FeedbackOpt",
    "LoadOption",
    "PositiveThresholdOpt",
    "WeightOpt",
    "cli_load_message",
    "load_feedback",
    "load_options",
    "load_table",
    "load_values",
    "with_load_options",
]

_FALSE = ("off", "none", "false", "no")


def _column(name: str, text: Any) -> Any:
    """A column reference as typed: digits are a 0-based position, anything else a name."""
    text = str(text)
    return int(text) if text.isdigit() else text


def _timestamp(name: str, text: Any) -> Any:
    return False if str(text).strip().lower() in _FALSE else _column(name, text)


def _scale(name: str, text: Any) -> tuple[float, float]:
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise DataError(
            f"--rating-scale {text}: expected LOW,HIGH (two numbers), e.g. --rating-scale 1,5"
        ) from None
    return (low, high)


def _text(name: str, text: Any) -> Any:
    return text


@dataclasses.dataclass(frozen=True)
class _Spec:
    help: str
    metavar: str | None = None
    cli_type: type = str
    parse: Callable[[str, Any], Any] = _text


#: Help and parsing of each ``load_ratings`` parameter, in words for the command line.
_SPECS: dict[str, _Spec] = {
    "user": _Spec(
        "User column of a table: a name, or a 0-based position. Default: detected "
        "(userId, user_id, user, uid...; headerless: 0).",
        "COLUMN",
        parse=_column,
    ),
    "item": _Spec(
        "Item column of a table: a name or a 0-based position. Default: detected "
        "(movieId, item_id, item, iid...; headerless: 1).",
        "COLUMN",
        parse=_column,
    ),
    "rating": _Spec(
        "Rating column of a table: a name or a 0-based position. Default: detected "
        "(rating, score, stars...; headerless: 2).",
        "COLUMN",
        parse=_column,
    ),
    "timestamp": _Spec(
        "Timestamp column of a table (a name or a 0-based position), or off to ignore "
        "timestamps. Default: a column named like timestamp/time/ts/date, if any.",
        "COLUMN",
        parse=_timestamp,
    ),
    "sep": _Spec(
        "Field separator of a text file: one character (',', ';', '|', tab) or a "
        "repeated one such as '::'. Default: sniffed.",
        "SEP",
    ),
    "header": _Spec(
        "Whether the first line of a text file names the columns. Default: detected.",
        cli_type=bool,
    ),
    "rating_scale": _Spec(
        "LOW,HIGH: the rating scale; a rating outside it is an error. Default: from the data.",
        "LOW,HIGH",
        parse=_scale,
    ),
    "duplicates": _Spec(
        "Repeated (user, item) pairs: warn (keep the last, warn), error, last, first "
        "or mean. Default: warn. With --feedback implicit: sum (of the weights; without "
        "--weight the count), max, mean, first, last or error. Default: sum.",
        "POLICY",
    ),
    "encoding": _Spec(
        "Text encoding of a text file (latin-1 for old MovieLens files). Default: utf-8.",
        "ENCODING",
    ),
    "name": _Spec(
        "Dataset name for summaries. Default: the file's stem.",
        "NAME",
    ),
}


@dataclasses.dataclass(frozen=True)
class LoadOption:
    """One table option: a keyword parameter of :func:`~embedlab.data.load_ratings`."""

    #: The Python parameter.
    name: str
    spec: _Spec

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def is_flag(self) -> bool:
        return self.spec.cli_type is bool

    def annotation(self) -> Any:
        decls = f"{self.flag}/--no-{self.flag[2:]}" if self.is_flag else self.flag
        option = typer.Option(
            decls,
            help=self.help,
            metavar=self.spec.metavar,
            show_default=False,
            rich_help_panel="Table options",
        )
        return Annotated[self.spec.cli_type | None, option]  # type: ignore[valid-type]

    def value(self, given: Any) -> Any:
        """The Python value of the option as typed."""
        return self.spec.parse(self.name, given)


@functools.cache
def load_options() -> tuple[LoadOption, ...]:
    """One option per keyword of ``load_ratings`` (after ``source``), in its order.

    Raises:
        TypeError: A ``load_ratings`` parameter has no help here (add it to ``_SPECS``).
    """
    params = list(inspect.signature(load_ratings).parameters)[1:]
    missing = [p for p in params if p not in _SPECS]
    if missing:
        raise TypeError(f"load_ratings parameters {missing} have no CLI help in _load_options")
    return tuple(LoadOption(p, _SPECS[p]) for p in params)


def with_load_options(after: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command function (taking ``**table``) one keyword parameter per table option,
    placed after its parameter ``after`` (see ``_settings_options.with_model_options``).

    Stacks with ``with_model_options``: both write ``__signature__``, which each reads.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return splice_options(func, load_options(), after, "table options")

    return decorate


def load_values(given: Mapping[str, Any]) -> dict[str, Any]:
    """The ``load_ratings`` keywords of the table options in ``given`` that were passed
    (``None``: left out); other keys of ``given`` are ignored."""
    return {
        o.name: o.value(given[o.name])
        for o in load_options()
        if o.name in given and given[o.name] is not None
    }


def split_table_options(options: dict[str, Any]) -> dict[str, Any]:
    """Remove the table options from a command's ``**options`` and return them parsed."""
    names = {o.name for o in load_options()}
    given = {k: options.pop(k) for k in list(options) if k in names}
    return load_values(given)


# ------------------------------------------------------------------ messages
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\([^()]*\)|<[^<>]*>|[\w.+-]+"""
_ALTERNATIVES = re.compile(r"--[\w-]+ [\w.-]+(?:(?:, | or )'[\w.-]+')+")
_PLACEHOLDERS = {"'<column>'": "COLUMN", "<0-based position>": "POSITION"}


@functools.cache
def _assignment() -> re.Pattern[str]:
    names = sorted((o.name for o in load_options()), key=len, reverse=True)
    return re.compile(rf"(?<![\w.-])({'|'.join(names)})=({_VALUE})?")


def _cli_value(name: str, text: str) -> str:
    if text in _PLACEHOLDERS:
        return _PLACEHOLDERS[text]
    if text[0] == "(":
        return text[1:-1].replace(" ", "").rstrip(",") or "none"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1].encode().decode("unicode_escape") if "\\" in text else text[1:-1]
        return shlex.quote(inner) if inner else "''"
    if name == "timestamp" and text in ("False", "None"):
        return "off"
    return text


def _flag(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    flag = "--" + name.replace("_", "-")
    if value is None:
        return flag
    if value == "True":
        return flag
    if value == "False" and name == "header":
        return f"--no-{flag[2:]}"
    return f"{flag} {_cli_value(name, value)}"


def cli_load_message(message: str) -> str:
    """A loader message with its Python arguments as flags: ``pass item='<column>'``
    becomes ``pass --item COLUMN``, ``encoding='latin-1'`` ``--encoding latin-1``,
    ``header=True`` ``--header``, ``rating_scale=(low, high)`` ``--rating-scale low,high``."""
    message = _assignment().sub(_flag, message)
    # "--duplicates last, 'first' or 'mean'": the alternatives as typed, too
    return _ALTERNATIVES.sub(lambda m: m.group(0).replace("'", ""), message)


def _corrupt_errors() -> tuple[type[BaseException], ...]:
    import zipfile
    import zlib

    classes: list[type[BaseException]] = [OSError, EOFError, zlib.error, zipfile.BadZipFile]
    try:
        import lzma

        classes.append(lzma.LZMAError)
    except ImportError:  # pragma: no cover - Python built without lzma
        pass
    return tuple(classes)


#: What reading a truncated or damaged compressed file raises (gzip, bz2, xz, zip; pyarrow's
#: "Truncated compressed stream" is an OSError without errno).
_CORRUPT = _corrupt_errors()


def _unreadable(path: Any, exc: BaseException) -> DataError | None:
    """The one-line error of a file that could not be read to its end; None for an error
    of the environment (a full disk, permissions: the command line's own message) or a
    bug."""
    from embedlab.cli._app import environment_message
    from embedlab.exceptions import EmbedlabError

    if isinstance(exc, EmbedlabError):
        return None
    if isinstance(exc, OSError) and (exc.errno is not None or environment_message(exc)):
        message = environment_message(exc)
        return None if message is None else DataError(f"{path}: cannot be read: {message}")
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return DataError(
        f"{path}: cannot be read ({detail}); the file is truncated, damaged or not what its "
        "name says: download or compress it again"
    )


def load_table(path: Any, table: Mapping[str, Any]) -> Any:
    """:func:`embedlab.data.load` with the parsed table options, messages in flags.

    Raises:
        DataError: As the loader does, its suggestions naming the CLI flags; a compressed
            file that is truncated or damaged (gzip, bz2, xz, zip), naming the file.
    """
    from embedlab.data import load

    return _call(load, path, table, cli_load_message)


# ------------------------------------------------------------------ implicit feedback
#: The values of ``--feedback``.
FEEDBACK_KINDS = ("explicit", "implicit")

FeedbackOpt = Annotated[
    str,
    typer.Option(
        "--feedback",
        metavar="KIND",
        help="explicit: ratings (the rating models, read as embedlab.load_ratings does); "
        "implicit: interactions without ratings (clicks, plays, purchases), read as "
        "embedlab.load_interactions does, for ImplicitMatrixFactorization. Default: explicit.",
        rich_help_panel="Table options",
    ),
]
WeightOpt = Annotated[
    str | None,
    typer.Option(
        "--weight",
        metavar="COLUMN",
        help="Implicit feedback: the column of interaction weights (a count, play time, an "
        "amount; >= 0), a name or a 0-based position; off ignores every column but the "
        "IDs and the timestamp. Default: none, every row weighs 1.",
        rich_help_panel="Table options",
    ),
]
PositiveThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--positive-threshold",
        metavar="T",
        help="Implicit feedback from ratings: keep the rows rated >= T (with --weight: "
        "weighted >= T) as positives of weight 1, as Interactions.to_implicit(threshold); "
        "e.g. 4 for MovieLens. Default: none.",
        rich_help_panel="Table options",
    ),
]

_ML100K_FILE = re.compile(r"u(\.data|[1-5ab]\.(base|test))")


def _weight_ref(text: str) -> Any:
    """``--weight`` as typed: off → False (no weight column), digits → a position."""
    return False if text.strip().lower() in _FALSE else _column("weight", text)


def _implicit_message(message: str) -> str:
    """A message of :func:`embedlab.data.load_interactions` in flags (``weight=`` is
    ``--weight``)."""
    message = message.replace(" for weight;", " for --weight;").replace(
        "pass weight= one of", "pass --weight one of"
    )
    message = message.replace(
        "load_ratings(...).to_implicit(threshold=...)", "--positive-threshold T"
    )
    message = re.sub(r"(?<![\w.-])weight=False", "--weight off", message)
    message = re.sub(
        r"(?<![\w.-])weight=('(?:[^'\\]|\\.)*'|\d+)",
        lambda m: f"--weight {_cli_value('weight', m.group(1))}",
        message,
    )
    return cli_load_message(message)


def _call(loader: Callable[..., Any], path: Any, kwargs: Mapping[str, Any], translate: Any) -> Any:
    """``loader(path, **kwargs)`` with its errors and warnings in flags (``translate``)
    and a damaged compressed file as one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            dataset = loader(path, **kwargs)
        except DataError as exc:
            message = translate(str(exc))
            try:
                error = type(exc)(message)
            except TypeError:  # a subclass with its own constructor
                error = DataError(message)
            raise error from None
        except _CORRUPT as exc:
            error = _unreadable(path, exc)
            if error is None:
                raise
            raise error from None
    for warning in caught:
        if issubclass(warning.category, DataWarning):
            typer.echo(f"warning: {translate(str(warning.message))}", err=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return dataset


def _refuse_movielens(path: Any) -> None:
    """A MovieLens folder, archive or ML-100K ratings file read as implicit feedback
    without ``--positive-threshold``: its ratings would count as interactions."""
    from embedlab.data import detect_movielens

    p = Path(path).expanduser()
    release = (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")) and (
        detect_movielens(p) is not None
    )
    ratings_file = (
        p.is_file()
        and _ML100K_FILE.fullmatch(p.name) is not None
        and (p.parent / "u.data").is_file()
    )
    if release or ratings_file:
        raise DataError(
            f"{path}: MovieLens holds ratings, not implicit feedback; pass --positive-threshold 4 "
            "to learn from the ratings >= 4 as positives (or drop --feedback implicit)"
        )


def _positives(dataset: Any, threshold: float, *, warn: bool) -> Any:
    """``dataset.to_implicit(threshold)`` in flags; with ``warn``, one line when users or
    items are left without a positive."""
    shown = f"{threshold:g}"
    try:
        positives = dataset.to_implicit(threshold)
    except DataError as exc:
        message = str(exc).replace(
            f"to_implicit(threshold={threshold!r})", f"--positive-threshold {shown}"
        )
        raise DataError(
            message.replace("pass a lower threshold", "pass a lower --positive-threshold")
        ) from None
    if warn:
        lost = []
        for side, before, after in (
            ("users", dataset.user_counts(), positives.user_counts()),
            ("items", dataset.item_counts(), positives.item_counts()),
        ):
            n = int(((after == 0) & (before > 0)).sum())
            if n:
                lost.append(f"{n:,} of {len(before):,} {side}")
        if lost:
            what = "rating" if dataset.feedback == "explicit" else "weight"
            typer.echo(
                f"warning: --positive-threshold {shown}: {' and '.join(lost)} have no {what} "
                f">= {shown}; they stay without an interaction, so a model learns nothing "
                "about them (no neighbours or recommendations of their own)",
                err=True,
            )
    return positives


def load_feedback(
    path: Any,
    table: Mapping[str, Any],
    *,
    feedback: str = "explicit",
    weight: str | None = None,
    threshold: float | None = None,
    warn: bool = True,
) -> Any:
    """The data of ``--feedback``, ``--weight`` and ``--positive-threshold`` with the
    parsed table options: ratings (:func:`load_table`), or implicit feedback read by
    :func:`embedlab.data.load_interactions` (no threshold) or ratings (weights, with
    ``--weight``) turned into positives by ``Interactions.to_implicit``.

    Raises:
        DataError: As the loaders, in flags; ``--weight``/``--positive-threshold``
            without ``--feedback implicit``; ``--rating`` or ``--rating-scale`` with
            implicit feedback (no threshold); a MovieLens dataset without a threshold;
            a ``--duplicates`` policy of ratings; no row at or above the threshold.
    """
    if feedback not in FEEDBACK_KINDS:
        raise DataError(
            f"--feedback {feedback!r}: expected explicit (ratings) or implicit (clicks, plays, "
            "purchases... without ratings)"
        )
    if feedback == "explicit":
        given = [
            f
            for f, v in (("--weight", weight), ("--positive-threshold", threshold))
            if v is not None
        ]
        if given:
            raise DataError(
                f"{' and '.join(given)}: appl{'ies' if len(given) == 1 else 'y'} to implicit "
                "feedback; add --feedback implicit (without it the table holds ratings)"
            )
        return load_table(path, table)
    if threshold is not None and not math.isfinite(threshold):
        raise DataError(
            f"--positive-threshold {threshold}: expected a finite number, the lowest rating "
            "that counts as a positive (e.g. 4)"
        )
    if "rating_scale" in table:
        raise DataError(
            "--rating-scale: implicit feedback has no rating scale; drop --rating-scale"
        )
    if threshold is not None and weight is None:  # ratings made positives
        try:
            dataset = load_table(path, table)
        except DataError as exc:
            if "no rating column" not in str(exc):
                raise
            raise DataError(
                f"{exc}; --positive-threshold keeps the rows whose rating (or, with --weight "
                "COLUMN, weight) reaches it"
            ) from None
        return _positives(dataset, threshold, warn=warn)
    if "rating" in table:
        column = _cli_value("rating", repr(table["rating"]))
        raise DataError(
            f"--rating {column}: implicit feedback has no rating column; drop --rating, pass "
            f"--weight {column} to use the column as weights, or --positive-threshold T to "
            "keep the ratings >= T as positives"
        )
    duplicates = table.get("duplicates")
    if duplicates is not None:
        from embedlab.data import IMPLICIT_DUPLICATES

        if duplicates not in IMPLICIT_DUPLICATES:
            raise DataError(
                f"--duplicates {duplicates}: implicit feedback aggregates repeated (user, item) "
                f"rows by {', '.join(IMPLICIT_DUPLICATES[:-1])} or {IMPLICIT_DUPLICATES[-1]} "
                "(default: sum)"
            )
    _refuse_movielens(path)
    from embedlab.data import load_interactions

    kwargs = dict(table)
    if weight is not None:
        kwargs["weight"] = _weight_ref(weight)
    source = Path(path).expanduser() if isinstance(path, (str, Path)) else path
    dataset = _call(load_interactions, source, kwargs, _implicit_message)
    if threshold is not None:
        dataset = _positives(dataset, threshold, warn=warn)
    return dataset
